// Following a snapshot while a worker builds it: GET it with a growing delay until it is
// `ready` or `failed`. Transient errors (network, 5xx) are retried a few times; a 4xx, or too
// many failures in a row, stops with the snapshot "lost" so the screen can offer to look again.
import { ApiError } from '../lib/api'
import type { Snapshot, SnapshotState } from '../lib/types'

export const MAX_FAILURES = 5
const FIRST_DELAY_MS = 1000
const MAX_DELAY_MS = 5000

export type PollState =
  | { phase: 'polling'; attempt: number; failures: number }
  | { phase: 'done'; state: SnapshotState }
  | { phase: 'lost'; error: string }

export type PollEvent = { type: 'snapshot'; state: SnapshotState } | { type: 'error'; error: string; retryable: boolean }

export const POLL_START: PollState = { phase: 'polling', attempt: 0, failures: 0 }

export function isFinished(state: SnapshotState): boolean {
  return state === 'ready' || state === 'failed'
}

export function pollTransition(state: PollState, event: PollEvent): PollState {
  if (state.phase !== 'polling') return state
  if (event.type === 'snapshot') {
    return isFinished(event.state) ? { phase: 'done', state: event.state } : { phase: 'polling', attempt: state.attempt + 1, failures: 0 }
  }
  const failures = state.failures + 1
  if (!event.retryable || failures >= MAX_FAILURES) return { phase: 'lost', error: event.error }
  return { phase: 'polling', attempt: state.attempt + 1, failures }
}

/** Milliseconds before the next GET: 1 s, growing by half each time, at most 5 s. Null once polling has stopped. */
export function pollDelay(state: PollState): number | null {
  if (state.phase !== 'polling') return null
  return Math.min(MAX_DELAY_MS, Math.round(FIRST_DELAY_MS * 1.5 ** state.attempt))
}

export function errorEvent(error: unknown): PollEvent {
  const message = error instanceof Error ? error.message : String(error)
  const retryable = !(error instanceof ApiError) || error.status >= 500 || error.status === 429
  return { type: 'error', error: message, retryable }
}

export interface PollOptions {
  fetchSnapshot: (id: number) => Promise<Snapshot>
  onUpdate: (snapshot: Snapshot) => void
  signal?: AbortSignal
  sleep?: (ms: number, signal?: AbortSignal) => Promise<void>
}

/** Poll until the snapshot is finished, the poll is lost, or `signal` aborts (then the result is null). */
export async function pollSnapshot(id: number, options: PollOptions): Promise<PollState | null> {
  const sleep = options.sleep ?? abortableSleep
  let state = POLL_START
  for (;;) {
    const delay = pollDelay(state)
    if (delay === null) return state
    await sleep(delay, options.signal)
    if (options.signal?.aborted) return null
    let event: PollEvent
    try {
      const snapshot = await options.fetchSnapshot(id)
      if (options.signal?.aborted) return null
      options.onUpdate(snapshot)
      event = { type: 'snapshot', state: snapshot.state }
    } catch (error) {
      if (options.signal?.aborted) return null
      event = errorEvent(error)
    }
    state = pollTransition(state, event)
  }
}

function abortableSleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(done, ms)
    signal?.addEventListener('abort', done, { once: true })
    function done() {
      clearTimeout(timer)
      signal?.removeEventListener('abort', done)
      resolve()
    }
  })
}
