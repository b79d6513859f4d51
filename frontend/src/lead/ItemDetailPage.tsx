import { Markdown } from '../components/Markdown'
import { ClockIcon, formatFigure, formatSpent } from '../components/ui'
import { Conversation } from '../annotate/Conversation'
import { errorText, useFetch } from '../lib/hooks'
import { Link } from '../lib/router'
import type { Project } from '../lib/types'
import { describeAnswer, describeValue, letter, type LeadItem, type Row } from './answers'
import { GoldForm } from './GoldForm'
import { LeadFrame } from './ProjectHeader'

export function ItemDetailPage({ projectId, itemId }: { projectId: number; itemId: number }) {
  return <LeadFrame projectId={projectId}>{(project) => <ItemDetail project={project} itemId={itemId} />}</LeadFrame>
}

function ItemDetail({ project, itemId }: { project: Project; itemId: number }) {
  const { data: item, error, reload } = useFetch<LeadItem>(`/api/projects/${project.id}/items/${itemId}/`)
  if (error) return <p className="form-error">Could not load item #{itemId}: {errorText(error)}</p>
  if (!item) return <p className="muted">Loading…</p>
  const responses = item.responses ?? []
  const responseIds = responses.map((r) => r.id)
  const answers = item.answers ?? []
  return (
    <div className="item-detail">
      <div className="row-between">
        <h2>
          Item #{item.id} {item.external_id && <span className="muted small">{item.external_id}</span>}{' '}
          {item.status && <span className={`tag tag-status-${item.status}`}>{item.status.replace('_', ' ')}</span>}
          {item.is_gold && <span className="tag tag-gold">gold</span>}
        </h2>
        <span className="muted small">
          {item.n_submitted ?? answers.length} of {project.annotations_per_item} answers
          {item.agreement != null && ` · agreement ${formatFigure(item.agreement)}`} · <Link href={`/projects/${project.id}/items`}>all items</Link>
        </span>
      </div>
      <Conversation turns={item.conversation ?? []} />
      {responses.length > 0 && (
        <div className="responses-n" style={{ gridTemplateColumns: `repeat(${Math.min(responses.length, 3)}, minmax(0, 1fr))` }}>
          {responses.map((r, i) => (
            <section key={r.id} className={`response${responses.length === 2 ? ` response-${i ? 'b' : 'a'}` : ''}`}>
              <header className="response-head">
                Response {letter(i)} <span className="muted small">#{r.id}</span>
              </header>
              <Markdown>{r.text}</Markdown>
            </section>
          ))}
        </div>
      )}

      <h2>Answers ({answers.length})</h2>
      {answers.length === 0 ? (
        <p className="muted">No answers yet.</p>
      ) : (
        <div className="answers-grid" data-testid="answers">
          {answers.map((answer, i) => (
            <AnswerCard key={String(answer.id ?? i)} answer={answer} responseIds={responseIds} />
          ))}
        </div>
      )}

      {project.kind !== 'demonstration' && <GoldForm project={project} item={item} onSaved={reload} />}
    </div>
  )
}

function AnswerCard({ answer, responseIds }: { answer: Row; responseIds: number[] }) {
  const value = describeAnswer(answer, responseIds)
  const time = Number(answer.time_spent_ms)
  const criteria = (answer.criteria ?? {}) as Record<string, unknown>
  const text = typeof answer.text === 'string' && answer.text ? answer.text : null
  const rationale = typeof answer.rationale === 'string' ? answer.rationale : ''
  return (
    <article className="card answer-card" data-testid="answer">
      <header className="row-between">
        <strong>{String(answer.annotator ?? '—')}</strong>
        <span className="muted small" title="Time spent">
          {Number.isFinite(time) && time > 0 && (
            <>
              <ClockIcon /> {formatSpent(time)}
            </>
          )}
        </span>
      </header>
      {value && <div className="answer-value">{value}</div>}
      {Object.keys(criteria).length > 0 && (
        <ul className="criteria-list small">
          {Object.entries(criteria).map(([name, c]) => (
            <li key={name}>
              <span className="muted">{name}:</span> {describeValue(c, responseIds)}
            </li>
          ))}
        </ul>
      )}
      {text != null && <Markdown className="answer-text">{text}</Markdown>}
      {rationale && <blockquote className="rationale">{rationale}</blockquote>}
      {Array.isArray(answer.flags) && answer.flags.length > 0 && (
        <div>
          {(answer.flags as string[]).map((f) => (
            <span key={f} className="tag">
              {f}
            </span>
          ))}
        </div>
      )}
      {answer.created_at != null && <div className="muted small">{new Date(String(answer.created_at)).toLocaleString()}</div>}
    </article>
  )
}
