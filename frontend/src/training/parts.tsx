// Pieces the training screens share: a job's status and progress, the jobs table, the models table, a select field.
import { useId, type ReactNode } from 'react'
import { Hash, ProgressBar } from '../components/ui'
import { Link } from 'react-router'
import { formatEta, formatParams, formatTime } from './format'
import type { Job, JobProgress, JobStatus, TrainedModel } from './types'

export function StatusTag({ status }: { status: JobStatus | string }) {
  return (
    <span className={`tag tag-job-${status}`} data-testid="job-status">
      {status}
    </span>
  )
}

export function progressText(progress: JobProgress | null): string {
  if (!progress) return '—'
  return progress.max_steps && progress.max_steps > 0 ? `${progress.step} / ${progress.max_steps}` : `step ${progress.step}`
}

export function JobProgressBar({ job }: { job: Pick<Job, 'id' | 'progress' | 'status'> }) {
  const p = job.progress
  const max = p?.max_steps && p.max_steps > 0 ? p.max_steps : 0
  const step = job.status === 'succeeded' && max ? max : (p?.step ?? 0)
  return (
    <div className="job-progress">
      <ProgressBar value={step} max={max} label={`Job ${job.id} progress`} />
      <span className="small muted">{progressText(p)}</span>
    </div>
  )
}

export function ModelName({ model, link }: { model: { id: number; name: string } | null; link: boolean }) {
  if (!model) return <span className="muted">—</span>
  return link ? <Link to={`/models?model=${model.id}`}>{model.name}</Link> : <span>{model.name}</span>
}

export function JobsTable({ jobs, staff, selected, onToggle }: { jobs: Job[]; staff: boolean; selected?: Set<number>; onToggle?: (id: number) => void }) {
  return (
    <div className="table-wrap">
      <table className="table table-hover jobs-table" data-testid="jobs-table">
        <thead>
          <tr>
            {onToggle && <th><span className="sr-only">Compare</span></th>}
            <th>Job</th>
            <th>Kind</th>
            <th>Status</th>
            <th>Snapshot · project</th>
            <th>Base model</th>
            <th>Progress</th>
            <th className="num">ETA</th>
            <th>Created</th>
          </tr>
        </thead>
        <tbody>
          {jobs.map((job) => (
            <tr key={job.id} data-job={job.id} data-status={job.status}>
              {onToggle && (
                <td>
                  <input type="checkbox" aria-label={`Compare job ${job.id}`} checked={selected?.has(job.id) ?? false} onChange={() => onToggle(job.id)} />
                </td>
              )}
              <td>
                <Link to={`/training/${job.id}`}>#{job.id}</Link>
              </td>
              <td>
                <span className="tag">{job.kind}</span>
              </td>
              <td>
                <StatusTag status={job.status} />
                {job.attempts > 1 && <span className="small muted"> try {job.attempts}</span>}
              </td>
              <td>
                {job.snapshot ? <Link to={`/projects/${job.snapshot.project}/snapshots`}>#{job.snapshot.id} · {job.snapshot.project_name}</Link> : <span className="muted">—</span>}
              </td>
              <td>
                <ModelName model={job.base_model} link={staff} />
              </td>
              <td className="progress-cell">
                <JobProgressBar job={job} />
              </td>
              <td className="num">{job.status === 'running' ? formatEta(job.progress?.eta_seconds) : '—'}</td>
              <td className="small">
                {formatTime(job.created_at)}
                {job.created_by && <span className="muted"> · {job.created_by}</span>}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  )
}

/** job → snapshot → project, each a link where the viewer can follow it. */
export function Lineage({ model }: { model: TrainedModel }) {
  const l = model.lineage
  if (!l || (!l.job && !l.snapshot && !l.project)) return <span className="muted">{model.source === 'trained' ? '—' : model.source}</span>
  return (
    <span className="lineage small">
      {l.job && (
        <Link to={`/training/${l.job.id}`}>
          job #{l.job.id} ({l.job.kind}, {l.job.status})
        </Link>
      )}
      {l.snapshot && (
        <>
          <span aria-hidden="true"> → </span>
          {l.project ? <Link to={`/projects/${l.project.id}/snapshots`}>snapshot #{l.snapshot.id}</Link> : <span>snapshot #{l.snapshot.id}</span>}
          {l.snapshot.fingerprint && (
            <>
              {' '}
              <Hash value={l.snapshot.fingerprint} chars={8} label="fingerprint" />
            </>
          )}
        </>
      )}
      {l.project && (
        <>
          <span aria-hidden="true"> → </span>
          <Link to={`/projects/${l.project.id}`}>{l.project.name}</Link>
        </>
      )}
    </span>
  )
}

export function ModelsTable({ models, highlight, parents, actions }: { models: TrainedModel[]; highlight?: number; parents?: Map<number, TrainedModel>; actions?: (model: TrainedModel) => ReactNode }) {
  return (
    <div className="table-wrap">
      <table className="table models-table" data-testid="models-table">
        <thead>
          <tr>
            <th>Model</th>
            <th>Kind</th>
            <th>Task</th>
            <th>Architecture</th>
            <th className="num">Parameters</th>
            <th>Source</th>
            <th>Lineage</th>
            <th>Created</th>
            {actions && (
              <th>
                <span className="sr-only">Actions</span>
              </th>
            )}
          </tr>
        </thead>
        <tbody>
          {models.map((m) => (
            <tr key={m.id} id={`model-${m.id}`} data-model={m.id} className={highlight === m.id ? 'row-highlight' : undefined} aria-current={highlight === m.id ? 'true' : undefined}>
              <td>
                <strong>{m.name}</strong>
                {m.parent !== null && (
                  <div className="small muted">from {parents?.get(m.parent)?.name ?? `model #${m.parent}`}</div>
                )}
              </td>
              <td>
                <span className={`tag tag-model-${m.kind}`}>{m.kind}</span>
              </td>
              <td className="small">{m.task}</td>
              <td className="small">{m.architecture || '—'}</td>
              <td className="num" title={m.parameter_count == null ? undefined : `${m.parameter_count.toLocaleString()} parameters`}>
                {formatParams(m.parameter_count)}
              </td>
              <td className="small">{m.source}</td>
              <td>
                <Lineage model={m} />
              </td>
              <td className="small">{formatTime(m.created_at)}</td>
              {actions && <td className="small">{actions(m)}</td>}
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  )
}

/** A labelled select with its hint and error below it, both read out with it. */
export function SelectField({ label, name, value, error, hint, disabled, onChange, children }: { label: string; name: string; value: string; error?: string; hint?: string; disabled?: boolean; onChange: (v: string) => void; children: ReactNode }) {
  const id = useId()
  const describedBy = [hint && `${id}-hint`, error && `${id}-error`].filter(Boolean).join(' ')
  return (
    <div className="field">
      <label htmlFor={id}>{label}</label>
      <select id={id} name={name} value={value} onChange={(e) => onChange(e.target.value)} disabled={disabled} aria-invalid={error ? true : undefined} aria-describedby={describedBy || undefined}>
        {children}
      </select>
      {hint && (
        <span id={`${id}-hint`} className="small muted schema-help">
          {hint}
        </span>
      )}
      {error && (
        <span id={`${id}-error`} className="field-error">
          {error}
        </span>
      )}
    </div>
  )
}
