import { useCallback, useEffect, useRef, useState, useSyncExternalStore } from 'react'
import { api, ApiError, type FieldError } from './api'
import type { Project } from './types'
import { apiPaths } from './paths'

export interface FetchState<T> {
  data: T | undefined
  error: unknown
  loading: boolean
  reload: () => void
}

/** GET a path; `null` skips the request. Reloads when the path changes. */
export function useFetch<T>(path: string | null): FetchState<T> {
  const [state, setState] = useState<{ data?: T; error?: unknown; loading: boolean }>({ loading: path !== null })
  const [tick, setTick] = useState(0)
  useEffect(() => {
    if (path === null) return
    let live = true
    setState((s) => ({ ...s, loading: true }))
    api.get<T>(path).then(
      (data) => live && setState({ data, loading: false }),
      (error: unknown) => live && setState({ error, loading: false }),
    )
    return () => {
      live = false
    }
  }, [path, tick])
  const reload = useCallback(() => setTick((t) => t + 1), [])
  return { data: state.data, error: state.error, loading: state.loading, reload }
}

/** A project by id. */
export const useProject = (id: number) => useFetch<Project>(apiPaths.project(id))

export function isTypingTarget(target: EventTarget | null): boolean {
  if (!(target instanceof HTMLElement)) return false
  if (target.isContentEditable) return true
  if (target instanceof HTMLTextAreaElement || target instanceof HTMLSelectElement) return true
  if (target instanceof HTMLInputElement) {
    return !['checkbox', 'radio', 'button', 'submit', 'reset', 'range', 'color', 'file'].includes(target.type)
  }
  return false
}

/** A key press meant for the page's shortcuts: not typed into a field, no Ctrl/Meta/Alt held. */
export function isPlainKey(event: KeyboardEvent): boolean {
  return !(isTypingTarget(event.target) || event.ctrlKey || event.metaKey || event.altKey)
}

/** Window keydown listener that always sees the latest handler. */
export function useKeydown(handler: (event: KeyboardEvent) => void, enabled = true): void {
  const ref = useRef(handler)
  ref.current = handler
  useEffect(() => {
    if (!enabled) return
    const listener = (event: KeyboardEvent) => ref.current(event)
    window.addEventListener('keydown', listener)
    return () => window.removeEventListener('keydown', listener)
  }, [enabled])
}

// Notices: short messages any screen can raise (a lost slot, a rejected answer restored after reload).
export interface Notice {
  id: number
  tone: 'info' | 'warn' | 'error' | 'ok'
  text: string
}

let notices: Notice[] = []
let noticeSeq = 0
const noticeListeners = new Set<() => void>()

function emitNotices(next: Notice[]): void {
  notices = next
  noticeListeners.forEach((l) => l())
}

export function pushNotice(tone: Notice['tone'], text: string, ttlMs = 8000): void {
  const notice = { id: ++noticeSeq, tone, text }
  emitNotices([...notices.slice(-3), notice])
  if (ttlMs > 0) setTimeout(() => dismissNotice(notice.id), ttlMs)
}

export function dismissNotice(id: number): void {
  emitNotices(notices.filter((n) => n.id !== id))
}

export function useNotices(): Notice[] {
  return useSyncExternalStore(
    (l) => {
      noticeListeners.add(l)
      return () => noticeListeners.delete(l)
    },
    () => notices,
  )
}

export function errorText(error: unknown): string {
  if (error instanceof Error) return error.message
  return String(error)
}

/** The field errors to show for a failed request: the server's, or one line for anything else. */
export function toErrors(err: unknown): FieldError[] {
  return err instanceof ApiError ? err.errors : [{ message: errorText(err) }]
}
