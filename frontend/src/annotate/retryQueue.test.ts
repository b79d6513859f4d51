import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { ApiError, NetworkError } from '../lib/api'
import { RetryQueue, type PendingAction } from './retryQueue'

const KEY = 'test.pending'

function action(over: Partial<PendingAction> = {}): PendingAction {
  return { key: 'key-1', user: 'ann', project: 1, assignment: 11, kind: 'submit', body: { chosen: 3, strength: 2 }, createdAt: 0, ...over }
}

const stored = (): PendingAction[] => JSON.parse(window.localStorage.getItem(KEY) ?? '[]')

function queue(send: (a: PendingAction) => Promise<unknown>, onSettled = vi.fn()) {
  return new RetryQueue({ send, storage: window.localStorage, storageKey: KEY, baseDelayMs: 1000, maxDelayMs: 8000, jitter: 0, onSettled })
}

describe('RetryQueue', () => {
  beforeEach(() => vi.useFakeTimers())
  afterEach(() => vi.useRealTimers())

  it('retries a failed send with the same idempotency key and backoff until it lands', async () => {
    const seen: string[] = []
    const send = vi.fn(async (a: PendingAction) => {
      seen.push(a.key)
      if (seen.length < 4) throw new NetworkError('Failed to fetch')
      return { id: 1 }
    })
    const q = queue(send)
    q.start('ann')
    const settled = q.enqueue(action())
    await vi.advanceTimersByTimeAsync(0)
    expect(send).toHaveBeenCalledTimes(1)
    expect(stored().map((a) => a.key)).toEqual(['key-1']) // persisted while pending
    expect(q.getState()).toMatchObject({ pending: 1, attempts: 1 })

    await vi.advanceTimersByTimeAsync(999)
    expect(send).toHaveBeenCalledTimes(1) // first retry after 1 s
    await vi.advanceTimersByTimeAsync(1)
    expect(send).toHaveBeenCalledTimes(2)
    await vi.advanceTimersByTimeAsync(2000) // then 2 s
    expect(send).toHaveBeenCalledTimes(3)
    await vi.advanceTimersByTimeAsync(4000) // then 4 s
    expect(await settled).toEqual({ status: 'ok', data: { id: 1 } })
    expect(seen).toEqual(['key-1', 'key-1', 'key-1', 'key-1'])
    expect(stored()).toEqual([])
    expect(q.getState()).toMatchObject({ pending: 0, attempts: 0 })
  })

  it('treats 502/503 as transient and 409 as a lost slot', async () => {
    const send = vi
      .fn()
      .mockRejectedValueOnce(new ApiError(503, { detail: 'down' }))
      .mockRejectedValueOnce(new ApiError(409, { errors: [{ field: 'assignment', message: 'expired' }] }))
    const q = queue(send)
    q.start('ann')
    const settled = q.enqueue(action())
    await vi.advanceTimersByTimeAsync(1000)
    expect(await settled).toEqual({ status: 'conflict', errors: [{ field: 'assignment', message: 'expired', line: undefined }] })
    expect(stored()).toEqual([])
  })

  it('hands back 400 field errors without retrying', async () => {
    const send = vi.fn().mockRejectedValue(new ApiError(400, { errors: [{ field: 'strength', message: 'must be 1, 2 or 3' }] }))
    const q = queue(send)
    q.start('ann')
    const outcome = await q.enqueue(action())
    expect(outcome).toMatchObject({ status: 'invalid', errors: [{ field: 'strength', message: 'must be 1, 2 or 3' }] })
    expect(send).toHaveBeenCalledTimes(1)
  })

  it('resends answers left from a reload first, in order, before new ones', async () => {
    const first = queue(vi.fn().mockRejectedValue(new NetworkError('offline')))
    first.start('ann')
    void first.enqueue(action({ key: 'old-1', assignment: 1 }))
    await vi.advanceTimersByTimeAsync(0)
    void first.enqueue(action({ key: 'old-2', assignment: 2 }))
    expect(stored().map((a) => a.key)).toEqual(['old-1', 'old-2'])

    // A new page load: a fresh queue over the same storage.
    const sent: string[] = []
    const onSettled = vi.fn()
    const second = queue(async (a) => void sent.push(a.key), onSettled)
    second.start('ann')
    const fresh = second.enqueue(action({ key: 'new-1', assignment: 3 }))
    await second.drained()
    await fresh
    expect(sent).toEqual(['old-1', 'old-2', 'new-1'])
    expect(onSettled).toHaveBeenCalledTimes(2) // the restored ones report through onSettled
    expect(stored()).toEqual([])
  })

  it('keeps other users’ answers in storage and does not send them', async () => {
    window.localStorage.setItem(KEY, JSON.stringify([action({ key: 'theirs', user: 'bob' })]))
    const send = vi.fn().mockResolvedValue({})
    const q = queue(send)
    q.start('ann')
    await q.enqueue(action({ key: 'mine' }))
    expect(send.mock.calls.map(([a]) => a.key)).toEqual(['mine'])
    expect(stored().map((a) => a.key)).toEqual(['theirs'])
  })

  it('pauses on 401 and resumes on start() after a login, still with the same key', async () => {
    const send = vi.fn().mockRejectedValueOnce(new ApiError(401, { detail: 'login' })).mockResolvedValueOnce({ id: 2 })
    const q = queue(send)
    q.start('ann')
    const settled = q.enqueue(action())
    await vi.advanceTimersByTimeAsync(5000)
    expect(q.getState().blockedOnAuth).toBe(true)
    expect(send).toHaveBeenCalledTimes(1)
    q.start('ann')
    expect(await settled).toEqual({ status: 'ok', data: { id: 2 } })
    expect(send.mock.calls.map(([a]) => a.key)).toEqual(['key-1', 'key-1'])
  })

  it('drops only the refused answer, however many times the refusal is handled', async () => {
    const send = vi.fn().mockRejectedValueOnce(new ApiError(403, { detail: 'not allowed' })).mockResolvedValue({ id: 3 })
    const q = queue(send)
    q.start('ann')
    const refused = q.enqueue(action({ key: 'refused' }))
    await vi.advanceTimersByTimeAsync(0)
    expect(q.getState().blockedOnAuth).toBe(true)
    const next = q.enqueue(action({ key: 'next', assignment: 12 }))
    const outcome = { status: 'rejected' as const, errors: [{ message: 'Not allowed' }], httpStatus: 403 }
    q.dropHead(outcome)
    q.dropHead(outcome) // a second, overlapping session check
    expect(await refused).toMatchObject({ status: 'rejected' })
    expect(await next).toEqual({ status: 'ok', data: { id: 3 } })
    expect(send.mock.calls.map(([a]) => a.key)).toEqual(['refused', 'next'])
  })
})

describe('RetryQueue before start', () => {
  it('holds drained() until start() has looked at the stored answers', async () => {
    window.localStorage.setItem(KEY, JSON.stringify([action({ key: 'left-over' })]))
    const sent: string[] = []
    const q = queue(async (a) => void sent.push(a.key))
    let drained = false
    void q.drained().then(() => (drained = true))
    await Promise.resolve()
    expect(drained).toBe(false)
    q.start('ann')
    await q.drained()
    expect(sent).toEqual(['left-over'])
  })
})
