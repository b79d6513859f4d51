// The screens' reads, cached and refetched by TanStack Query. Every key starts with the signed-in user's id, so
// one person's data never shows for a moment after another logs in. A plain GET is keyed by its API path (as an
// HTTP cache would be), so a write can mark everything under a path stale (`useInvalidate`).
import { keepPreviousData, useQuery, useQueryClient, type QueryKey } from '@tanstack/react-query'
import { useCallback } from 'react'
import { api } from './api'
import { useSession } from './auth'
import { apiPaths } from './paths'
import type { Project } from './types'

export function useScope(): number {
  return useSession().me.id
}

const pathKey = (scope: number, path: string | null): QueryKey => [scope, 'get', path]

interface GetOptions<T> {
  /** Until this screen's own read is back, no data: for a form that starts from what it reads, and must not start
   *  from an older copy in the cache. */
  fresh?: boolean
  /** While a new path loads, the last path's answer stays on screen (as a filter changes); false shows nothing. */
  keepPrevious?: boolean
  /** Milliseconds until the next GET, from the last answer and how many answers this path has had; false: none. */
  refetchInterval?: (data: T | undefined, answers: number) => number | false
}

/** GET a path; `null` asks nothing. */
export function useGet<T>(path: string | null, { fresh = false, keepPrevious = true, refetchInterval }: GetOptions<T> = {}) {
  const scope = useScope()
  const query = useQuery<T, Error, T, QueryKey>({
    queryKey: pathKey(scope, path),
    queryFn: () => api.get<T>(path!),
    enabled: path !== null,
    placeholderData: keepPrevious ? keepPreviousData : undefined,
    refetchInterval: refetchInterval && ((query) => refetchInterval(query.state.data, query.state.dataUpdateCount)),
  })
  const held = fresh && (!query.isFetchedAfterMount || query.isPlaceholderData)
  return { data: held ? undefined : query.data, error: query.error, isFetching: query.isFetching, refetch: query.refetch }
}

/** Mark every GET under `prefix` (a path, with or without a query) stale; the ones on screen are asked again. */
export function useInvalidate(): (prefix: string) => Promise<void> {
  const scope = useScope()
  const client = useQueryClient()
  return useCallback(
    (prefix: string) =>
      client.invalidateQueries({
        predicate: ({ queryKey }) => queryKey[0] === scope && queryKey[1] === 'get' && typeof queryKey[2] === 'string' && queryKey[2].startsWith(prefix),
      }),
    [client, scope],
  )
}

/** A project by id. */
export const useProject = (id: number, options: { fresh?: boolean } = {}) => useGet<Project>(apiPaths.project(id), options)
