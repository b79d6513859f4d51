// The screens' plain GET: data, error, loading and a reload, refetched when the path changes.
import { useCallback, useEffect, useState } from 'react'
import { api } from './api'
import { apiPaths } from './paths'
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

/** A project by id. */
export const useProject = (id: number) => useFetch<Project>(apiPaths.project(id))
