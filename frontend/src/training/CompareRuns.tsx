// Two or more runs' curves of one metric on one chart. The runs and the metric are in the URL
// (`?compare=3,5&metric=loss`), so a comparison can be linked to.
import { useQueries, useQueryClient } from '@tanstack/react-query'
import { useMemo } from 'react'
import { errorText } from '../lib/errors'
import { useScope } from '../lib/queries'
import { Link, useLocation, useNavigate, useSearchParams } from 'react-router'
import { formatTick } from './format'
import { withParam } from './JobsPage'
import { LineChart, PALETTE } from './LineChart'
import { alignRuns, orderedKeys, seriesOf, type MetricSeries } from './metrics'
import { StatusTag } from './parts'
import { jobQuery, loadMoreMetrics, POLL_MS, useJobs } from './queries'
import { isActive, type Job } from './types'

export function parseIds(text: string | null): number[] {
  return [...new Set((text ?? '').split(',').map(Number).filter((n) => Number.isSafeInteger(n) && n > 0))]
}

export function CompareRuns() {
  const { pathname } = useLocation()
  const navigate = useNavigate()
  const [search] = useSearchParams()
  const ids = parseIds(search.get('compare'))
  const recent = useJobs({})
  const runs = useRuns(ids)
  const keys = useMemo(() => orderedKeys([...new Set(runs.flatMap((r) => r.series?.keys ?? []))]), [runs])
  const wanted = search.get('metric') ?? ''
  const metric = keys.includes(wanted) ? wanted : keys[0] ?? ''
  const setIds = (next: number[]) => navigate(withParam(pathname, search, 'compare', next.join(',')), { replace: true })
  const toggle = (id: number) => setIds(ids.includes(id) ? ids.filter((i) => i !== id) : [...ids, id].sort((a, b) => a - b))

  const shown = runs.filter((r) => r.series && metric in r.series.values)
  const data = useMemo(() => alignRuns(shown.map((r) => seriesOf(r.series!, metric))), [shown, metric])
  const series = useMemo(() => shown.map((r) => ({ label: runLabel(r.id, r.job), color: PALETTE[ids.indexOf(r.id) % PALETTE.length] })), [shown, ids])
  const choices = mergeJobs(recent.data?.results ?? [], runs.flatMap((r) => (r.job ? [r.job] : [])))

  return (
    <section className="card" id="compare" aria-labelledby="compare-title" data-testid="compare-runs">
      <h2 id="compare-title">Compare runs</h2>
      <p className="small muted">Pick two or more jobs; the same metric of each is drawn on one chart.</p>
      <div className="compare">
        <fieldset className="compare-pick">
          <legend className="small">Jobs</legend>
          {recent.error != null && <p className="form-error small">Could not load the jobs: {errorText(recent.error)}</p>}
          {choices.length === 0 && !recent.isPending && <p className="muted small">No jobs yet.</p>}
          {choices.map((job) => (
            <label key={job.id} className="check compare-choice">
              <input type="checkbox" checked={ids.includes(job.id)} onChange={() => toggle(job.id)} />
              <span>
                #{job.id} {job.kind}{job.snapshot && ` · ${job.snapshot.project_name}`} <StatusTag status={job.status} />
              </span>
            </label>
          ))}
        </fieldset>
        <div className="compare-chart">
          <label className="field-inline">
            Metric
            <select value={metric} onChange={(e) => navigate(withParam(pathname, search, 'metric', e.target.value), { replace: true })} disabled={keys.length === 0}>
              {keys.map((k) => (
                <option key={k} value={k}>
                  {k}
                </option>
              ))}
            </select>
          </label>
          {runs.some((r) => r.error) && <p className="form-error small">{runs.filter((r) => r.error).map((r) => `#${r.id}: ${errorText(r.error)}`).join(' · ')}</p>}
          {ids.length < 2 ? (
            <p className="muted small">Choose at least two jobs.</p>
          ) : shown.length === 0 ? (
            <p className="muted small">{runs.some((r) => r.loading) ? 'Loading…' : 'None of these jobs logged this metric.'}</p>
          ) : (
            <>
              <LineChart title={metric} data={data} series={series} summary={compareSummary(metric, shown)} height={280} />
              <RunsTable runs={runs} metric={metric} ids={ids} />
            </>
          )}
        </div>
      </div>
    </section>
  )
}

interface Run {
  id: number
  job?: Job
  series?: MetricSeries
  error: unknown
  loading: boolean
}

function useRuns(ids: number[]): Run[] {
  const scope = useScope()
  const client = useQueryClient()
  const jobs = useQueries({ queries: ids.map((id) => jobQuery(scope, id)) })
  const metrics = useQueries({
    queries: ids.map((id, i) => {
      const key = [scope, 'training-job', id, 'metrics', 'compare']
      return {
        queryKey: key,
        queryFn: () => loadMoreMetrics(client, key, id),
        refetchInterval: jobs[i]?.data && isActive(jobs[i].data.status) ? POLL_MS * 2 : (false as const),
      }
    }),
  })
  return ids.map((id, i) => ({
    id,
    job: jobs[i]?.data,
    series: metrics[i]?.data,
    error: jobs[i]?.error ?? metrics[i]?.error,
    loading: Boolean(jobs[i]?.isPending || metrics[i]?.isPending),
  }))
}

function runLabel(id: number, job?: Job): string {
  return job ? `#${id} ${job.kind}` : `#${id}`
}

function mergeJobs(a: Job[], b: Job[]): Job[] {
  const byId = new Map<number, Job>()
  for (const job of [...b, ...a]) byId.set(job.id, job)
  return [...byId.values()].sort((x, y) => y.id - x.id)
}

function lastValue(series: MetricSeries | undefined, metric: string): number | null {
  const [, ys] = series ? seriesOf(series, metric) : [[], []]
  return ys.length ? ys[ys.length - 1] : null
}

function compareSummary(metric: string, runs: Run[]): string {
  return `${metric} by step for ${runs.map((r) => `${runLabel(r.id, r.job)} (latest ${formatTick(lastValue(r.series, metric))})`).join(', ')}`
}

function RunsTable({ runs, metric, ids }: { runs: Run[]; metric: string; ids: number[] }) {
  return (
    <table className="table table-compact compare-table" data-testid="compare-table">
      <thead>
        <tr>
          <th>Run</th>
          <th>Status</th>
          <th className="num">Steps</th>
          <th className="num">Latest {metric}</th>
        </tr>
      </thead>
      <tbody>
        {runs.map((r) => (
          <tr key={r.id} data-run={r.id}>
            <td>
              <span className="swatch" style={{ background: PALETTE[ids.indexOf(r.id) % PALETTE.length] }} aria-hidden="true" />{' '}
              <Link to={`/training/${r.id}`}>{runLabel(r.id, r.job)}</Link>
            </td>
            <td>{r.job ? <StatusTag status={r.job.status} /> : '—'}</td>
            <td className="num">{r.series?.steps.length ?? '—'}</td>
            <td className="num">{formatTick(lastValue(r.series, metric)) || '—'}</td>
          </tr>
        ))}
      </tbody>
    </table>
  )
}
