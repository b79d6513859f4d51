// Every training job the viewer may see, newest first, filtered by kind and status (kept in the URL),
// asked again every two seconds while one on the page is queued or running.
import { useState } from 'react'
import { useSession } from '../lib/auth'
import { errorText } from '../lib/errors'
import { Link, useLocation, useNavigate, useSearchParams } from 'react-router'
import { JobsTable } from './parts'
import { POLL_MS, useJobs, useKinds } from './queries'
import { isActive, JOB_STATUSES } from './types'

const KNOWN_KINDS = ['sft', 'reward', 'dpo', 'kto', 'ppo', 'rloo', 'grpo', 'evaluate']

/** The page's URL with one search parameter set (or removed when empty); the page number starts over. */
export function withParam(pathname: string, search: URLSearchParams, key: string, value: string): string {
  const next = new URLSearchParams(search)
  if (value) next.set(key, value)
  else next.delete(key)
  if (key !== 'page') next.delete('page')
  const query = next.toString()
  return query ? `${pathname}?${query}` : pathname
}

export function JobsPage() {
  const { me } = useSession()
  const { pathname } = useLocation()
  const navigate = useNavigate()
  const [search] = useSearchParams()
  const kind = search.get('kind') ?? ''
  const status = search.get('status') ?? ''
  const page = Math.max(1, Number(search.get('page')) || 1)
  const jobs = useJobs({ kind: kind || undefined, status: status || undefined, page })
  const kinds = useKinds()
  const [selected, setSelected] = useState<Set<number>>(new Set())
  const set = (key: string, value: string) => navigate(withParam(pathname, search, key, value), { replace: true })
  const toggle = (id: number) =>
    setSelected((s) => {
      const next = new Set(s)
      if (!next.delete(id)) next.add(id)
      return next
    })

  const results = jobs.data?.results ?? []
  const active = results.filter((j) => isActive(j.status)).length
  const kindOptions = kinds.data?.map((k) => ({ value: k.kind, label: k.label })) ?? KNOWN_KINDS.map((k) => ({ value: k, label: k }))

  return (
    <div className="page page-wide">
      <div className="page-head">
        <div>
          <h1>Training jobs</h1>
          <p className="muted small">Fine-tuning runs on the annotated snapshots, with their curves and the models they produced.</p>
        </div>
        {me.is_staff && (
          <Link to="/training/new" className="btn btn-primary">
            New job
          </Link>
        )}
      </div>
      <div className="filters" role="search" aria-label="Filter jobs">
        <label className="field-inline">
          Kind
          <select value={kind} onChange={(e) => set('kind', e.target.value)}>
            <option value="">All kinds</option>
            {kindOptions.map((k) => (
              <option key={k.value} value={k.value}>
                {k.label}
              </option>
            ))}
          </select>
        </label>
        <label className="field-inline">
          Status
          <select value={status} onChange={(e) => set('status', e.target.value)}>
            <option value="">Any status</option>
            {JOB_STATUSES.map((s) => (
              <option key={s} value={s}>
                {s}
              </option>
            ))}
          </select>
        </label>
        <p className="small muted filters-status" role="status">
          {jobs.data && `${jobs.data.count} ${jobs.data.count === 1 ? 'job' : 'jobs'}`}
          {active > 0 && ` · ${active} queued or running, refreshed every ${POLL_MS / 1000} s`}
        </p>
        {selected.size >= 2 && (
          <Link to={`/models?compare=${[...selected].sort((a, b) => a - b).join(',')}#compare`} className="btn btn-sm">
            Compare {selected.size} runs
          </Link>
        )}
      </div>
      {jobs.error != null && <p className="form-error">Could not load the jobs: {errorText(jobs.error)}</p>}
      {jobs.isPending && <p className="muted">Loading…</p>}
      {jobs.data && results.length === 0 && (
        <div className="empty">
          <h2>{kind || status ? 'No job matches these filters' : 'No training jobs yet'}</h2>
          {me.is_staff && !kind && !status && <p>Start one from a ready snapshot with “New job”.</p>}
        </div>
      )}
      {results.length > 0 && <JobsTable jobs={results} staff={me.is_staff} selected={selected} onToggle={toggle} />}
      {jobs.data && (jobs.data.next || jobs.data.previous) && (
        <nav className="pager" aria-label="Pages">
          <button type="button" className="btn btn-sm" disabled={!jobs.data.previous} onClick={() => set('page', String(page - 1))}>
            ← Newer
          </button>
          <span className="small muted">page {page}</span>
          <button type="button" className="btn btn-sm" disabled={!jobs.data.next} onClick={() => set('page', String(page + 1))}>
            Older →
          </button>
        </nav>
      )}
    </div>
  )
}
