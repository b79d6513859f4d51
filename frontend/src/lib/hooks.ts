import { useCallback, useEffect, useRef, useState, useSyncExternalStore } from 'react'
import { api, ApiError, rows } from './api'
import type { Project } from './types'

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

/** A project by id: the detail route if the API has one, else the caller's project list. */
export function useProject(id: number): FetchState<Project> {
  const [state, setState] = useState<{ data?: Project; error?: unknown; loading: boolean }>({ loading: true })
  const [tick, setTick] = useState(0)
  useEffect(() => {
    let live = true
    loadProject(id).then(
      (data) => live && setState({ data, loading: false }),
      (error: unknown) => live && setState({ error, loading: false }),
    )
    return () => {
      live = false
    }
  }, [id, tick])
  const reload = useCallback(() => setTick((t) => t + 1), [])
  return { data: state.data, error: state.error, loading: state.loading, reload }
}

export async function loadProject(id: number): Promise<Project> {
  try {
    return await api.get<Project>(`/api/projects/${id}/`)
  } catch (err) {
    if (!(err instanceof ApiError) || (err.status !== 404 && err.status !== 405)) throw err
  }
  const found = rows(await api.get<Project[] | { results: Project[] }>('/api/projects/')).find((p) => p.id === id)
  if (!found) throw new ApiError(404, { detail: 'Project not found.' })
  return found
}

export function isTypingTarget(target: EventTarget | null): boolean {
  if (!(target instanceof HTMLElement)) return false
  if (target.isContentEditable) return true
  if (target instanceof HTMLTextAreaElement || target instanceof HTMLSelectElement) return true
  if (target instanceof HTMLInputElement) {
    return !['checkbox', 'radio', 'button', 'submit', 'reset', 'range', 'color', 'file'].includes(target.type)
  }
  return false
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
