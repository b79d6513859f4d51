import { ProgressBar } from '../components/ui'
import { errorText } from '../lib/errors'
import { useGet } from '../lib/queries'
import { Link } from 'react-router'
import type { Progress } from '../lib/types'
import { AgreementPanel } from './AgreementPanel'
import { LeadFrame } from './ProjectHeader'
import { apiPaths } from '../lib/paths'

export function DashboardPage({ projectId }: { projectId: number }) {
  return <LeadFrame projectId={projectId}>{(project) => <Overview projectId={projectId} criteria={project.kind === 'pairwise' ? project.criteria : []} />}</LeadFrame>
}

function Overview({ projectId, criteria }: { projectId: number; criteria: string[] }) {
  const { data, error, refetch } = useGet<Progress>(apiPaths.progress(projectId))
  if (error) return <p className="form-error">Could not load progress: {errorText(error)}</p>
  if (!data) return <p className="muted">Loading…</p>
  const { items } = data
  return (
    <>
      <section className="stats" aria-label="Progress">
        <Stat label="Items" value={items.total} />
        <Stat label="Open" value={items.open} />
        <Stat label="In progress" value={items.in_progress} />
        {items.needs_annotators ? (
          <Stat label="Need more annotators" value={items.needs_annotators} href={`/projects/${projectId}/items?status=needs_annotators`} title="Every annotator has answered or skipped these items and they still lack answers" />
        ) : null}
        <Stat label="Complete" value={items.complete} />
        <Stat label="Answers" value={data.annotations} />
        {items.adjudicated ? <Stat label="Settled by a lead" value={items.adjudicated} href={`/projects/${projectId}/items?adjudicated=true`} /> : null}
      </section>
      <div className="card">
        <div className="row-between">
          <h2>Completion</h2>
          <button type="button" className="btn btn-sm" onClick={() => refetch()}>
            Refresh
          </button>
        </div>
        <ProgressBar value={items.complete} max={items.total} label="Items complete" />
        <p className="small muted">
          {items.total ? Math.round((items.complete / items.total) * 100) : 0}% of items have all their answers.
        </p>
      </div>
      <div className="card">
        <h2>Annotators</h2>
        {data.annotators.length === 0 ? (
          <p className="muted">No answers yet.</p>
        ) : (
          <div className="table-wrap">
            <table className="table" data-testid="annotator-table">
              <thead>
                <tr>
                  <th>Annotator</th>
                  <th className="num">Done</th>
                  <th className="num">Skipped</th>
                  <th className="num">In progress</th>
                  <th className="num">Median time</th>
                  <th className="num">Gold answered</th>
                  <th className="num">Gold accuracy</th>
                </tr>
              </thead>
              <tbody>
                {data.annotators.map((a) => (
                  <tr key={a.username}>
                    <td>{a.username}</td>
                    <td className="num">{a.done}</td>
                    <td className="num">{a.skipped}</td>
                    <td className="num">{a.in_progress}</td>
                    <td className="num">{a.median_seconds == null ? '—' : `${a.median_seconds.toFixed(1)} s`}</td>
                    <td className="num">{a.gold_answered}</td>
                    <td className="num">{a.gold_accuracy == null ? '—' : `${Math.round(a.gold_accuracy * 100)}%`}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        )}
      </div>
      <AgreementPanel projectId={projectId} criteria={criteria} />
    </>
  )
}

function Stat({ label, value, href, title }: { label: string; value: number; href?: string; title?: string }) {
  return (
    <div className="stat card" title={title} data-testid={`stat-${label}`}>
      <div className="stat-value">{href ? <Link to={href}>{value}</Link> : value}</div>
      <div className="stat-label">{label}</div>
    </div>
  )
}
