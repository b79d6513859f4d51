import { describe, expect, it, vi } from 'vitest'
import { ApiError, NetworkError } from '../lib/api'
import type { Snapshot, SnapshotState } from '../lib/types'
import { errorEvent, MAX_FAILURES, POLL_START, pollDelay, pollSnapshot, pollTransition, type PollState } from './snapshotPoll'

const snap = (state: SnapshotState, extra: Partial<Snapshot> = {}): Snapshot => ({
  id: 7, project: 1, state, rules: {}, options: {}, test_fraction: 0.1, seed: 0, counts: {}, files: [], fingerprint: null,
  library_version: '', error: '', created_by: 'lead', created_at: '2026-01-01T00:00:00Z', finished_at: null, ...extra,
})

describe('pollTransition', () => {
  it('keeps polling while the snapshot is pending or building and stops when it is ready or failed', () => {
    let s: PollState = POLL_START
    s = pollTransition(s, { type: 'snapshot', state: 'pending' })
    expect(s).toEqual({ phase: 'polling', attempt: 1, failures: 0 })
    s = pollTransition(s, { type: 'snapshot', state: 'building' })
    expect(s).toEqual({ phase: 'polling', attempt: 2, failures: 0 })
    expect(pollTransition(s, { type: 'snapshot', state: 'ready' })).toEqual({ phase: 'done', state: 'ready' })
    expect(pollTransition(s, { type: 'snapshot', state: 'failed' })).toEqual({ phase: 'done', state: 'failed' })
  })

  it('retries transient errors, forgets them after an answer, and gives up after too many in a row', () => {
    let s: PollState = POLL_START
    for (let i = 1; i < MAX_FAILURES; i++) {
      s = pollTransition(s, { type: 'error', error: 'down', retryable: true })
      expect(s).toMatchObject({ phase: 'polling', failures: i })
    }
    expect(pollTransition(s, { type: 'snapshot', state: 'building' })).toMatchObject({ phase: 'polling', failures: 0 })
    expect(pollTransition(s, { type: 'error', error: 'down', retryable: true })).toEqual({ phase: 'lost', error: 'down' })
  })

  it('gives up at once on an error that will not go away', () => {
    expect(pollTransition(POLL_START, { type: 'error', error: 'Not found.', retryable: false })).toEqual({ phase: 'lost', error: 'Not found.' })
  })

  it('ignores events once stopped', () => {
    const done: PollState = { phase: 'done', state: 'ready' }
    expect(pollTransition(done, { type: 'snapshot', state: 'building' })).toBe(done)
  })
})

describe('pollDelay', () => {
  it('starts at a second, grows by half each time, stops growing at five, and is null once stopped', () => {
    const delays = [0, 1, 2, 3, 4, 5, 9].map((attempt) => pollDelay({ phase: 'polling', attempt, failures: 0 }))
    expect(delays).toEqual([1000, 1500, 2250, 3375, 5000, 5000, 5000])
    expect(pollDelay({ phase: 'done', state: 'ready' })).toBeNull()
    expect(pollDelay({ phase: 'lost', error: 'x' })).toBeNull()
  })
})

describe('errorEvent', () => {
  it('retries network errors, 5xx and 429, not other 4xx', () => {
    expect(errorEvent(new NetworkError('offline'))).toEqual({ type: 'error', error: 'offline', retryable: true })
    expect(errorEvent(new ApiError(502, null))).toMatchObject({ retryable: true })
    expect(errorEvent(new ApiError(429, null))).toMatchObject({ retryable: true })
    expect(errorEvent(new ApiError(404, { detail: 'Not found.' }))).toEqual({ type: 'error', error: 'Not found.', retryable: false })
  })
})

describe('pollSnapshot', () => {
  const noSleep = vi.fn(async () => {})

  it('reports each state until the snapshot is ready, waiting longer each time', async () => {
    const answers = [snap('pending'), snap('building'), snap('ready', { fingerprint: 'abc' })]
    const fetchSnapshot = vi.fn(async () => answers.shift()!)
    const onUpdate = vi.fn()
    const sleep = vi.fn(async (_ms: number) => {})
    const result = await pollSnapshot(7, { fetchSnapshot, onUpdate, sleep })
    expect(result).toEqual({ phase: 'done', state: 'ready' })
    expect(fetchSnapshot).toHaveBeenCalledWith(7)
    expect(onUpdate.mock.calls.map(([s]) => s.state)).toEqual(['pending', 'building', 'ready'])
    expect(sleep.mock.calls.map(([ms]) => ms)).toEqual([1000, 1500, 2250])
  })

  it('stops on failed with the snapshot (and its error) handed over', async () => {
    const onUpdate = vi.fn()
    const result = await pollSnapshot(7, { fetchSnapshot: async () => snap('failed', { error: 'ValueError: boom' }), onUpdate, sleep: noSleep })
    expect(result).toEqual({ phase: 'done', state: 'failed' })
    expect(onUpdate.mock.calls[0][0].error).toBe('ValueError: boom')
  })

  it('rides out a few network errors', async () => {
    const answers: (() => Snapshot)[] = [
      () => {
        throw new NetworkError('offline')
      },
      () => {
        throw new ApiError(503, null)
      },
      () => snap('ready'),
    ]
    const result = await pollSnapshot(7, { fetchSnapshot: async () => answers.shift()!(), onUpdate: vi.fn(), sleep: noSleep })
    expect(result).toEqual({ phase: 'done', state: 'ready' })
  })

  it('is lost after too many errors in a row, or at once on a 404', async () => {
    const down = vi.fn(async (): Promise<Snapshot> => {
      throw new NetworkError('offline')
    })
    expect(await pollSnapshot(7, { fetchSnapshot: down, onUpdate: vi.fn(), sleep: noSleep })).toEqual({ phase: 'lost', error: 'offline' })
    expect(down).toHaveBeenCalledTimes(MAX_FAILURES)
    const gone = vi.fn(async (): Promise<Snapshot> => {
      throw new ApiError(404, { detail: 'Not found.' })
    })
    expect(await pollSnapshot(7, { fetchSnapshot: gone, onUpdate: vi.fn(), sleep: noSleep })).toEqual({ phase: 'lost', error: 'Not found.' })
    expect(gone).toHaveBeenCalledTimes(1)
  })

  it('stops without a word once aborted (the screen went away)', async () => {
    const controller = new AbortController()
    const onUpdate = vi.fn()
    const fetchSnapshot = vi.fn(async () => {
      controller.abort()
      return snap('building')
    })
    expect(await pollSnapshot(7, { fetchSnapshot, onUpdate, sleep: noSleep, signal: controller.signal })).toBeNull()
    expect(onUpdate).not.toHaveBeenCalled()
    expect(fetchSnapshot).toHaveBeenCalledTimes(1)
  })

  it('wakes from its wait when aborted', async () => {
    const controller = new AbortController()
    const fetchSnapshot = vi.fn(async () => snap('building'))
    const polling = pollSnapshot(7, { fetchSnapshot, onUpdate: vi.fn(), signal: controller.signal })
    controller.abort()
    expect(await polling).toBeNull()
    expect(fetchSnapshot).not.toHaveBeenCalled()
  })
})
