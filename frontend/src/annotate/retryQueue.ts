// Answers wait here until the server has them. Each keeps the Idempotency-Key it was born with, so a retry
// after a lost response is stored once. The queue is mirrored to localStorage: after a reload the pending
// answers are sent before anything else happens.
import { ApiError, NetworkError, type FieldError } from '../lib/api'

export interface PendingAction {
  key: string // Idempotency-Key, one per answer
  user: string
  project: number
  assignment: number
  kind: 'submit' | 'skip'
  body: Record<string, unknown>
  createdAt: number
}

export type Outcome =
  | { status: 'ok'; data: unknown }
  | { status: 'conflict'; errors: FieldError[] } // 409: the lease was lost
  | { status: 'invalid'; errors: FieldError[] } // 400: the answer itself is wrong
  | { status: 'rejected'; errors: FieldError[]; httpStatus: number } // other permanent refusals

export interface QueueState {
  pending: number
  attempts: number // failed tries of the head action
  nextRetryAt: number | null
  lastError: string | null
  blockedOnAuth: boolean
}

export type Sender = (action: PendingAction) => Promise<unknown>

export interface QueueOptions {
  send: Sender
  storage?: Storage | null
  storageKey?: string
  baseDelayMs?: number
  maxDelayMs?: number
  jitter?: number // fraction of the delay, so many clients do not retry in lockstep
  onSettled?: (action: PendingAction, outcome: Outcome) => void
}

const RETRIABLE_STATUS = new Set([408, 425, 429, 500, 502, 503, 504])

export class RetryQueue {
  private opts: Required<Omit<QueueOptions, 'storage' | 'onSettled'>> & Pick<QueueOptions, 'storage' | 'onSettled'>
  private user: string | null = null
  private items: PendingAction[] = []
  private waiters = new Map<string, (outcome: Outcome) => void>()
  private idleWaiters: (() => void)[] = []
  private listeners = new Set<(state: QueueState) => void>()
  private running = false
  private timer: ReturnType<typeof setTimeout> | null = null
  private state: QueueState = { pending: 0, attempts: 0, nextRetryAt: null, lastError: null, blockedOnAuth: false }

  constructor(options: QueueOptions) {
    this.opts = {
      storageKey: 'rlhf.pendingAnswers.v1',
      baseDelayMs: 1000,
      maxDelayMs: 15000,
      jitter: 0.2,
      ...options,
    }
  }

  /** Start (or restart, after a login) sending this user's answers, including ones left from a reload. */
  start(user: string): void {
    if (this.user !== user) {
      this.user = user
      const mine = this.readStorage().filter((a) => a.user === user)
      const known = new Set(this.items.map((a) => a.key))
      this.items = [...this.items.filter((a) => a.user === user), ...mine.filter((a) => !known.has(a.key))]
    }
    this.update({ blockedOnAuth: false, pending: this.items.length })
    this.kick()
  }

  /** Queue an answer and resolve once the server has settled it (possibly after many retries). */
  enqueue(action: PendingAction): Promise<Outcome> {
    this.items.push(action)
    this.writeStorage((stored) => [...stored.filter((a) => a.key !== action.key), action])
    this.update({ pending: this.items.length })
    const settled = new Promise<Outcome>((resolve) => this.waiters.set(action.key, resolve))
    this.kick()
    return settled
  }

  /** Resolves when nothing of the current user's is waiting (and not before start(): storage may hold some). */
  drained(): Promise<void> {
    if (this.user !== null && this.items.length === 0) return Promise.resolve()
    return new Promise((resolve) => this.idleWaiters.push(resolve))
  }

  retryNow(): void {
    if (this.timer) clearTimeout(this.timer)
    this.timer = null
    this.update({ nextRetryAt: null })
    this.kick()
  }

  /** Give up on the head action the server refused for permission reasons. Only while the queue is blocked on
   *  it: a second, late call (two session checks overlapping) must not drop the next answer, never refused. */
  dropHead(outcome: Outcome): void {
    if (!this.state.blockedOnAuth) return
    const head = this.items[0]
    if (head) this.settle(head, outcome)
    this.update({ blockedOnAuth: false })
    this.kick()
  }

  getState(): QueueState {
    return this.state
  }

  subscribe(listener: (state: QueueState) => void): () => void {
    this.listeners.add(listener)
    return () => this.listeners.delete(listener)
  }

  private async kick(): Promise<void> {
    if (this.running || this.timer || this.state.blockedOnAuth || !this.user) return
    this.running = true
    try {
      while (this.items.length > 0) {
        const head = this.items[0]
        const result = await this.attempt(head)
        if (result === 'retry' || result === 'auth') return
        this.settle(head, result)
      }
      this.idleWaiters.splice(0).forEach((resolve) => resolve())
    } finally {
      this.running = false
    }
  }

  private async attempt(action: PendingAction): Promise<Outcome | 'retry' | 'auth'> {
    try {
      const data = await this.opts.send(action)
      return { status: 'ok', data }
    } catch (err) {
      if (err instanceof ApiError && (err.status === 401 || err.status === 403)) {
        this.update({ blockedOnAuth: true, lastError: err.message })
        return 'auth'
      }
      if (err instanceof ApiError && !RETRIABLE_STATUS.has(err.status)) {
        if (err.status === 409) return { status: 'conflict', errors: err.errors }
        if (err.status === 400) return { status: 'invalid', errors: err.errors }
        return { status: 'rejected', errors: err.errors, httpStatus: err.status }
      }
      if (!(err instanceof ApiError) && !(err instanceof NetworkError)) throw err
      this.scheduleRetry(err.message)
      return 'retry'
    }
  }

  private scheduleRetry(message: string): void {
    const attempts = this.state.attempts + 1
    const raw = Math.min(this.opts.maxDelayMs, this.opts.baseDelayMs * 2 ** (attempts - 1))
    const delay = Math.round(raw * (1 + this.opts.jitter * (Math.random() * 2 - 1)))
    this.timer = setTimeout(() => {
      this.timer = null
      this.update({ nextRetryAt: null })
      this.kick()
    }, delay)
    this.update({ attempts, lastError: message, nextRetryAt: Date.now() + delay })
  }

  private settle(action: PendingAction, outcome: Outcome): void {
    this.items = this.items.filter((a) => a.key !== action.key)
    this.writeStorage((stored) => stored.filter((a) => a.key !== action.key))
    this.update({ pending: this.items.length, attempts: 0, lastError: null, nextRetryAt: null })
    const waiter = this.waiters.get(action.key)
    this.waiters.delete(action.key)
    if (waiter) waiter(outcome)
    else this.opts.onSettled?.(action, outcome) // restored after a reload: nobody on screen is waiting
  }

  private update(patch: Partial<QueueState>): void {
    this.state = { ...this.state, ...patch }
    this.listeners.forEach((listener) => listener(this.state))
  }

  // Read-modify-write on every change, so two open tabs do not overwrite each other's answers.
  private readStorage(): PendingAction[] {
    try {
      const raw = this.opts.storage?.getItem(this.opts.storageKey)
      const parsed: unknown = raw ? JSON.parse(raw) : []
      return Array.isArray(parsed) ? (parsed as PendingAction[]) : []
    } catch {
      return []
    }
  }

  private writeStorage(change: (stored: PendingAction[]) => PendingAction[]): void {
    try {
      this.opts.storage?.setItem(this.opts.storageKey, JSON.stringify(change(this.readStorage())))
    } catch {
      // Storage full or disabled: the answer is still held in memory and retried.
    }
  }
}
