// One training job: where it stands, its curves while it runs, the worker's log, what it produced
// and where its data came from. Admins may cancel or retry it; a project's leads read it.
import { formatBytes, Hash } from '../components/ui'
import { ApiError } from '../lib/api'
import { useSession } from '../lib/auth'
import { errorText } from '../lib/errors'
import { Link } from 'react-router'
import { describeRules } from '../lead/curationRules'
import { elapsed, flatten, formatEta, formatTime, formatValue } from './format'
import { MetricCharts } from './MetricCharts'
import { JobProgressBar, ModelName, progressText, StatusTag } from './parts'
import { HackingWarnings, PolicyComparison, RewardAgainstKl, SideBySideSamples } from './PolicyEvaluation'
import { EVAL_KL, evaluatesAtCheckpoints, hasReference, policySummary } from './policyEval'
import { useJob, useJobAction, useLog, useMetrics } from './queries'
import { Samples } from './Samples'
import { isActive, type Job, type JobSnapshot, type ModelRef } from './types'

// Kinds that register no model: their page has no "Output model".
const NO_MODEL_KINDS = ['evaluate', 'generate', 'ai_annotate', 'constitutional']

export function JobPage({ jobId }: { jobId: number }) {
  const { me } = useSession()
  const job = useJob(jobId)
  if (job.error) {
    const missing = job.error instanceof ApiError && job.error.status === 404
    return (
      <div className="page">
        <h1>Training job #{jobId}</h1>
        <p className={missing ? undefined : 'form-error'}>{missing ? 'There is no such job, or it belongs to a project you do not lead.' : `Could not load the job: ${errorText(job.error)}`}</p>
        <Link to="/training">← All jobs</Link>
      </div>
    )
  }
  if (!job.data) return <div className="page muted">Loading…</div>
  return <JobView job={job.data} staff={me.is_staff} />
}

function statusLine(job: Job): string {
  if (job.status === 'queued') return job.attempts > 0 ? `Queued again (try ${job.attempts + 1} of ${job.max_attempts}), waiting for a worker…` : 'Queued, waiting for a worker…'
  if (job.status === 'running') {
    const eta = job.progress?.eta_seconds
    const cancelling = job.cancel_requested_at ? ' · cancelling at the end of this step' : ''
    return `Running · ${progressText(job.progress)}${eta != null ? ` · about ${formatEta(eta)} left` : ''}${cancelling}`
  }
  if (job.status === 'succeeded') return `Succeeded in ${elapsed(job.started_at, job.finished_at)}`
  if (job.status === 'failed') return `Failed after ${job.attempts} ${job.attempts === 1 ? 'try' : 'tries'}`
  return `Cancelled${job.cancelled_by ? ` by ${job.cancelled_by}` : ''}`
}

type MetricsQuery = ReturnType<typeof useMetrics>

function JobView({ job, staff }: { job: Job; staff: boolean }) {
  const live = isActive(job.status)
  // One metrics query for the page: the curves and the reward-against-KL chart read the same rows.
  const metrics = useMetrics(job.id, live, job.attempts)
  const rewardKl = evaluatesAtCheckpoints(job) || Boolean(metrics.data?.values[EVAL_KL])
  return (
    <div className="page page-wide job-page" data-testid="job-page" data-status={job.status}>
      <div className="page-head">
        <div>
          <h1>
            Training job #{job.id} <span className="tag">{job.kind}</span> <StatusTag status={job.status} />
          </h1>
          <p className="muted small">
            <Link to="/training">← All jobs</Link>
            {job.snapshot && ` · ${job.snapshot.project_name} · snapshot #${job.snapshot.id}`}
            {job.created_by && ` · started by ${job.created_by}`}
          </p>
        </div>
        {staff && <JobActions job={job} />}
      </div>

      <section className="card" aria-labelledby="job-progress">
        <h2 id="job-progress" className="sr-only">
          Progress
        </h2>
        <p className="job-status-line" role="status" data-testid="job-status-line">
          {live && <span className="spinner" aria-hidden="true" />} {statusLine(job)}
        </p>
        <JobProgressBar job={job} />
        {job.error && (
          <div className="banner banner-error job-error" role="alert" data-testid="job-error">
            <pre>{job.error}</pre>
          </div>
        )}
        <JobFacts job={job} />
      </section>

      <HackingWarnings job={job} />
      {rewardKl && <RewardAgainstKl job={job} series={metrics.data} loading={metrics.isPending} />}
      {/* An evaluate job logs no curves; its figures are below. */}
      {!(job.kind === 'evaluate' && !live && !metrics.data?.keys.length) && <Metrics job={job} metrics={metrics} />}
      <div className="two-col">
        <div>
          <Evaluation job={job} />
          {hasReference(job.samples) ? <SideBySideSamples samples={job.samples} /> : <Samples samples={job.samples} />}
          <LogTail job={job} />
        </div>
        <div>
          <JobLineage job={job} staff={staff} />
          <Config config={job.config} />
          <Artifacts job={job} />
        </div>
      </div>
    </div>
  )
}

function JobActions({ job }: { job: Job }) {
  const cancel = useJobAction(job.id, 'cancel')
  const retry = useJobAction(job.id, 'retry')
  const failed = cancel.error ?? retry.error
  return (
    <div className="job-actions">
      {job.can_cancel && (
        <button type="button" className="btn" onClick={() => cancel.mutate()} disabled={cancel.isPending || job.cancel_requested_at !== null}>
          {job.cancel_requested_at ? 'Cancelling…' : 'Cancel job'}
        </button>
      )}
      {job.can_retry && (
        <button type="button" className="btn btn-primary" onClick={() => retry.mutate()} disabled={retry.isPending}>
          Retry
        </button>
      )}
      {failed != null && (
        <p className="form-error small" role="alert">
          {errorText(failed)}
        </p>
      )}
    </div>
  )
}

function JobFacts({ job }: { job: Job }) {
  const facts: [string, string][] = [
    ['Attempts', `${job.attempts} of ${job.max_attempts}`],
    ['Worker', job.worker_host || '—'],
    ['Created', formatTime(job.created_at)],
    ['Started', formatTime(job.started_at)],
    ['Finished', formatTime(job.finished_at)],
    ['Last heartbeat', formatTime(job.heartbeat_at)],
  ]
  if (job.cancel_requested_at) facts.push(['Cancel asked', `${formatTime(job.cancel_requested_at)}${job.cancelled_by ? ` by ${job.cancelled_by}` : ''}`])
  return (
    <dl className="facts" data-testid="job-facts">
      {facts.map(([term, value]) => (
        <div key={term}>
          <dt>{term}</dt>
          <dd>{value}</dd>
        </div>
      ))}
    </dl>
  )
}

function Metrics({ job, metrics }: { job: Job; metrics: MetricsQuery }) {
  const live = isActive(job.status)
  const series = metrics.data
  return (
    <section className="card" aria-labelledby="job-metrics">
      <div className="row-between">
        <h2 id="job-metrics">Metrics</h2>
        <span className="small muted">{series && series.steps.length > 0 && `${series.steps.length} steps logged · drag to zoom, double-click to reset`}</span>
      </div>
      {metrics.error != null && <p className="form-error">Could not load the metrics: {errorText(metrics.error)}</p>}
      {series && series.keys.length > 0 ? (
        <MetricCharts series={series} syncKey={`job-${job.id}`} />
      ) : (
        !metrics.error && <p className="muted small">{metrics.isPending ? 'Loading…' : live ? 'No step logged yet; the curves appear with the first one.' : 'No metrics were logged.'}</p>
      )}
    </section>
  )
}

function LogTail({ job }: { job: Job }) {
  const live = isActive(job.status)
  const log = useLog(job.id, live)
  return (
    <section className="card" aria-labelledby="job-log">
      <h2 id="job-log">Log</h2>
      {log.error != null && <p className="form-error">Could not load the log: {errorText(log.error)}</p>}
      {log.data && (log.data.text ? <pre className="log-tail" tabIndex={0} aria-label="Last lines of the worker log" data-testid="job-log">{log.data.text}</pre> : <p className="muted small">Nothing logged yet.</p>)}
    </section>
  )
}

function KeyValues({ values, testId }: { values: Record<string, unknown>; testId: string }) {
  return (
    <table className="table table-compact kv" data-testid={testId}>
      <tbody>
        {flatten(values).map(([key, value]) => (
          <tr key={key} data-key={key}>
            <th scope="row">
              <code>{key}</code>
            </th>
            <td className="num">{formatValue(value)}</td>
          </tr>
        ))}
      </tbody>
    </table>
  )
}

function Evaluation({ job }: { job: Job }) {
  const hasEvaluation = job.evaluation && Object.keys(job.evaluation).length > 0
  const hasSummary = job.summary && Object.keys(job.summary).length > 0
  const policy = policySummary(job)
  if (!hasEvaluation && !hasSummary) return null
  // The warnings have their own section above; the rest of the figures stay one click away.
  const { warnings: _warnings, ...figures } = job.evaluation ?? {}
  return (
    <section className="card" aria-labelledby="job-evaluation">
      <h2 id="job-evaluation">{policy ? 'Policy against reference' : 'Evaluation'}</h2>
      {policy ? (
        <>
          <PolicyComparison summary={policy} kind={job.kind} />
          <details className="kv-more">
            <summary className="small">Every figure</summary>
            <KeyValues values={figures} testId="job-evaluation" />
          </details>
        </>
      ) : hasEvaluation ? (
        <KeyValues values={job.evaluation!} testId="job-evaluation" />
      ) : (
        <p className="muted small">Not evaluated.</p>
      )}
      {hasSummary && (
        <>
          <h3 className="small muted kv-title">Run summary</h3>
          <KeyValues values={job.summary!} testId="job-summary" />
        </>
      )}
    </section>
  )
}

function Config({ config }: { config: Record<string, unknown> }) {
  return (
    <section className="card" aria-labelledby="job-config">
      <h2 id="job-config">Settings</h2>
      {Object.keys(config ?? {}).length ? <KeyValues values={config} testId="job-config" /> : <p className="muted small">None.</p>}
    </section>
  )
}

function Artifacts({ job }: { job: Job }) {
  if (!job.artifacts?.length) return null
  return (
    <section className="card" aria-labelledby="job-artifacts">
      <h2 id="job-artifacts">Files</h2>
      <ul className="plain-list small">
        {job.artifacts.map((a) => (
          <li key={a.name}>
            <code>{a.name}</code> <span className="muted">{formatBytes(a.bytes)}</span>
          </li>
        ))}
      </ul>
    </section>
  )
}

function JobLineage({ job, staff }: { job: Job; staff: boolean }) {
  const s = job.snapshot
  const model = (label: string, ref: ModelRef | null, none?: string) => (
    <div>
      <dt>{label}</dt>
      <dd>
        {ref || !none ? <ModelName model={ref} link={staff} /> : <span className="muted">{none}</span>}
        {ref && <span className="muted small"> · {ref.kind}</span>}
      </dd>
    </div>
  )
  // A lead may not list every model; the project's Models tab has the ones trained from it.
  const outputHref = (id: number) => (staff ? `/models?model=${id}` : s ? `/projects/${s.project}/models?model=${id}` : null)
  const output = job.output_model
  const href = output ? outputHref(output.id) : null
  return (
    <section className="card" aria-labelledby="job-lineage" data-testid="job-lineage">
      <h2 id="job-lineage">Lineage</h2>
      <dl className="facts facts-stacked">
        {s ? <SnapshotFacts snapshot={s} /> : (
          <div>
            <dt>Snapshot</dt>
            <dd className="muted">none</dd>
          </div>
        )}
        {model('Base model', job.base_model)}
        {(job.reference_model || ['dpo', 'kto', 'ppo'].includes(job.kind)) && model('Reference model', job.reference_model, 'same as the base model')}
        {job.reward_model && model('Reward model', job.reward_model)}
        {!NO_MODEL_KINDS.includes(job.kind) && (
          <div>
            <dt>Output model</dt>
            <dd data-testid="output-model">
              {output ? (
                <>
                  {href ? <Link to={href}>{output.name}</Link> : output.name}
                  <span className="muted small"> · {output.kind}</span>
                </>
              ) : (
                <span className="muted">{job.status === 'succeeded' ? '—' : 'when the job succeeds'}</span>
              )}
            </dd>
          </div>
        )}
      </dl>
    </section>
  )
}

function SnapshotFacts({ snapshot: s }: { snapshot: JobSnapshot }) {
  const rules = describeRules(s.rules, 'pairwise')
  const counts = s.counts ?? {}
  const figures = (['pairs', 'answers', 'prompts', 'items'] as const).filter((k) => counts[k] !== undefined).map((k) => `${counts[k]} ${k}`)
  return (
    <>
      <div>
        <dt>Project</dt>
        <dd>
          <Link to={`/projects/${s.project}`}>{s.project_name}</Link>
        </dd>
      </div>
      <div>
        <dt>Snapshot</dt>
        <dd>
          <Link to={`/projects/${s.project}/snapshots`}>#{s.id}</Link>
          {figures.length > 0 && <span className="muted small"> · {figures.join(', ')}</span>}
        </dd>
      </div>
      <div>
        <dt>Fingerprint</dt>
        <dd>{s.fingerprint ? <Hash value={s.fingerprint} label="fingerprint" /> : '—'}</dd>
      </div>
      <div>
        <dt>Curation rules</dt>
        <dd className="small">{rules.length ? rules.join(' · ') : 'none, every answer kept'}</dd>
      </div>
    </>
  )
}
