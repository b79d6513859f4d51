// Reads and writes of the training screens, cached and polled by TanStack Query. Every key starts
// with the signed-in user's id (`useScope`), so one person's jobs never show for a moment after another logs in.
import { useEffect, useRef } from 'react'
import { keepPreviousData, useMutation, useQuery, useQueryClient, type QueryClient } from '@tanstack/react-query'
import { api, ApiError, rows } from '../lib/api'
import { useScope } from '../lib/queries'
import type { Project, Snapshot } from '../lib/types'
import { appendMetrics, EMPTY_SERIES, type MetricSeries } from './metrics'
import { isActive, type Job, type MetricsPage, type Page, type TrainedModel, type TrainingKind } from './types'
import { apiPaths, type Schema, withQuery } from '../lib/paths'

/** How often a screen asks again while a job is queued or running. */
export const POLL_MS = 2000
// A list is read to its end for the pickers; past this many pages something is wrong, not big.
const MAX_PAGES = 40
// One metrics answer may be capped by the server; follow on at most this many times per poll.
const MAX_METRIC_FOLLOWUPS = 50

/** A `next` link (absolute, as DRF writes it) as a same-origin path for the api client. */
function toPath(link: string): string {
  const url = new URL(link, window.location.origin)
  return url.pathname + url.search
}

/** Every row of a list, paginated (`next` links followed) or bare. */
export async function fetchAll<T>(path: string): Promise<T[]> {
  const out: T[] = []
  let next: string | null = path
  for (let page = 0; next && page < MAX_PAGES; page++) {
    const data: T[] | Page<T> = await api.get<T[] | Page<T>>(next)
    out.push(...rows(data))
    next = Array.isArray(data) ? null : data.next ? toPath(data.next) : null
  }
  return out
}

export function useKinds() {
  const scope = useScope()
  return useQuery({ queryKey: [scope, 'training-kinds'], queryFn: () => api.get<TrainingKind[]>(apiPaths.jobKinds()), staleTime: 5 * 60_000 })
}

export interface JobFilters {
  kind?: string
  status?: string
  project?: number
  model?: number
  page?: number
}

export function jobsPath(filters: JobFilters): string {
  return withQuery(apiPaths.jobs(), { ...filters, page: filters.page === 1 ? undefined : filters.page })
}

/** One page of jobs; asked again every POLL_MS while any job on it is queued or running. */
export function useJobs(filters: JobFilters, options: { enabled?: boolean } = {}) {
  const scope = useScope()
  return useQuery({
    queryKey: [scope, 'training-jobs', filters],
    queryFn: async () => {
      const data = await api.get<Job[] | Page<Job>>(jobsPath(filters))
      return Array.isArray(data) ? { count: data.length, next: null, previous: null, results: data } : data
    },
    enabled: options.enabled,
    placeholderData: keepPreviousData,
    refetchInterval: (query) => (query.state.data?.results.some((j) => isActive(j.status)) ? POLL_MS : false),
  })
}

const jobKey = (scope: number, id: number) => [scope, 'training-job', id]

/** A job, asked again every POLL_MS while it is queued or running. */
export const jobQuery = (scope: number, id: number) => ({
  queryKey: jobKey(scope, id),
  queryFn: () => api.get<Job>(apiPaths.job(id)),
  refetchInterval: (query: { state: { data?: Job } }) => (query.state.data && isActive(query.state.data.status) ? POLL_MS : false),
})

export function useJob(id: number) {
  return useQuery(jobQuery(useScope(), id))
}

/** Fetch the rows after `after` (all rows when null), following on while the server says there are more. */
export async function fetchMetricsAfter(jobId: number, after: number | null): Promise<MetricsPage['results']> {
  const out: MetricsPage['results'] = []
  let cursor = after
  for (let i = 0; i < MAX_METRIC_FOLLOWUPS; i++) {
    const page = await api.get<MetricsPage>(withQuery(apiPaths.jobMetrics(jobId), { after: cursor ?? undefined }))
    const results = page.results ?? []
    out.push(...results)
    if (results.length === 0) break
    const last = results[results.length - 1].step
    // A capped answer ends before the job's last step: ask for the rest now, not one poll later.
    if (page.last_step == null || last >= page.last_step || last <= (cursor ?? -Infinity)) break
    cursor = last
  }
  return out
}

/**
 * A job's metrics, fetched incrementally: each poll asks only for the steps after the last one held
 * and appends them. `attempt` is part of the key so a retried job's curves are read again from the start.
 */
export function useMetrics(jobId: number, live: boolean, attempt: number) {
  const scope = useScope()
  const client = useQueryClient()
  const key = [scope, 'training-job', jobId, 'metrics', attempt]
  const query = useQuery({
    queryKey: key,
    queryFn: () => loadMoreMetrics(client, key, jobId),
    refetchInterval: live ? POLL_MS : false,
  })
  useOnceFinished(live, query.refetch)
  return query
}

/** The last rows land between the last poll and the job's end: ask once more when it stops being live. */
function useOnceFinished(live: boolean, refetch: () => unknown) {
  const wasLive = useRef(live)
  useEffect(() => {
    if (wasLive.current && !live) refetch()
    wasLive.current = live
  }, [live, refetch])
}

/**
 * Append what came after the cached series' last step, and that step again (the server may have
 * added a checkpoint evaluation to it since); merged into whatever the cache holds when it arrives.
 */
export async function loadMoreMetrics(client: QueryClient, key: unknown[], jobId: number): Promise<MetricSeries> {
  const before = client.getQueryData<MetricSeries>(key) ?? EMPTY_SERIES
  const fetched = await fetchMetricsAfter(jobId, before.lastStep === null ? null : before.lastStep - 1)
  return appendMetrics(client.getQueryData<MetricSeries>(key) ?? EMPTY_SERIES, fetched)
}

export function useLog(jobId: number, live: boolean, lines = 200) {
  const scope = useScope()
  const query = useQuery({
    queryKey: [scope, 'training-job', jobId, 'log', lines],
    queryFn: () => api.get<Schema<'LogOut'>>(withQuery(apiPaths.jobLog(jobId), { lines })),
    refetchInterval: live ? POLL_MS * 1.5 : false,
  })
  useOnceFinished(live, query.refetch)
  return query
}

/** Cancel or retry: the answer is the job as it now is, put straight into the cache. */
export function useJobAction(jobId: number, action: 'cancel' | 'retry') {
  const scope = useScope()
  const client = useQueryClient()
  return useMutation({
    mutationFn: () => api.post<Job>(apiPaths.jobAction(jobId, action)).then((r) => r.data),
    onSuccess: (job) => {
      client.setQueryData(jobKey(scope, jobId), job)
      client.invalidateQueries({ queryKey: [scope, 'training-jobs'] })
    },
  })
}

export function useCreateJob() {
  const scope = useScope()
  const client = useQueryClient()
  return useMutation({
    mutationFn: (body: Record<string, unknown>) => api.post<Job>(apiPaths.jobs(), body).then((r) => r.data),
    onSuccess: (job) => {
      client.setQueryData(jobKey(scope, job.id), job)
      client.invalidateQueries({ queryKey: [scope, 'training-jobs'] })
    },
  })
}

export function useModels(path = apiPaths.models(), options: { refetchInterval?: number | false } = {}) {
  const scope = useScope()
  return useQuery({ queryKey: [scope, 'models', path], queryFn: () => fetchAll<TrainedModel>(path), refetchInterval: options.refetchInterval })
}

export interface SnapshotWithProject extends Snapshot {
  projectName: string
}

/** Every snapshot of every project this user sees, for the new-job picker. */
export function useAllSnapshots() {
  const scope = useScope()
  return useQuery({
    queryKey: [scope, 'all-snapshots'],
    queryFn: async (): Promise<SnapshotWithProject[]> => {
      const projects = await fetchAll<Project>(apiPaths.projects())
      const lists = await Promise.all(
        projects.map(async (p) => {
          try {
            return (await fetchAll<Snapshot>(apiPaths.snapshots(p.id))).map((s) => ({ ...s, projectName: p.name }))
          } catch (err) {
            // A project whose snapshots this user may not list (annotator only) offers none.
            if (err instanceof ApiError && (err.status === 403 || err.status === 404)) return []
            throw err
          }
        }),
      )
      return lists.flat().sort((a, b) => b.id - a.id)
    },
  })
}
