import { Markdown } from '../components/Markdown'
import { ClockIcon, formatFigure, formatSpent } from '../components/ui'
import { Conversation } from '../annotate/Conversation'
import { errorText } from '../lib/errors'
import { useGet, useInvalidate } from '../lib/queries'
import { Link, useSearchParams } from 'react-router'
import type { Project } from '../lib/types'
import { AdjudicationForm } from './AdjudicationForm'
import { describeAnswer, describeValue, letter, shownOrder, type LeadItem, type Row } from './answers'
import { GoldForm } from './GoldForm'
import { filterQuery, itemHref, listHref } from './itemFilters'
import { StatusTag } from './ItemsPage'
import { LeadFrame } from './ProjectHeader'
import { apiPaths, withQuery } from '../lib/paths'

export function ItemDetailPage({ projectId, itemId }: { projectId: number; itemId: number }) {
  return <LeadFrame projectId={projectId}>{(project) => <ItemDetail project={project} itemId={itemId} />}</LeadFrame>
}

function ItemDetail({ project, itemId }: { project: Project; itemId: number }) {
  const [search] = useSearchParams()
  const filtered = filterQuery(search).toString() !== ''
  const { data: item, error } = useGet<LeadItem>(withQuery(apiPaths.item(project.id, itemId), filterQuery(search)), { fresh: true })
  const invalidate = useInvalidate()
  const reload = () => invalidate(apiPaths.items(project.id)) // this item and the lists that show it
  if (error) return <p className="form-error">Could not load item #{itemId}: {errorText(error)}</p>
  if (!item || item.id !== itemId) return <p className="muted">Loading…</p>
  const responses = item.responses ?? []
  const responseIds = responses.map((r) => r.id)
  const answers = item.answers ?? []
  const { previous, next } = item.neighbours ?? { previous: null, next: null }
  return (
    <div className="item-detail">
      <nav className="row-between item-nav" aria-label="Items">
        <Link to={listHref(project.id, search)}>← {filtered ? 'Filtered items' : 'All items'}</Link>
        <span className="item-nav-steps">
          {previous != null ? (
            <Link to={itemHref(project.id, previous, search)} rel="prev" data-testid="previous-item">
              ‹ Previous
            </Link>
          ) : (
            <span className="muted">‹ Previous</span>
          )}
          {' · '}
          {next != null ? (
            <Link to={itemHref(project.id, next, search)} rel="next" data-testid="next-item">
              Next ›
            </Link>
          ) : (
            <span className="muted">Next ›</span>
          )}
        </span>
      </nav>
      <div className="row-between">
        <h2>
          Item #{item.id} {item.external_id && <span className="muted small">{item.external_id}</span>} <StatusTag status={item.status} />
          {item.is_gold && <span className="tag tag-gold">gold</span>}
          {item.adjudicated && <span className="tag tag-settled">settled</span>}
        </h2>
        <span className="muted small">
          {item.n_submitted ?? answers.length} of {project.annotations_per_item} answers
          {item.agreement != null && ` · agreement ${formatFigure(item.agreement)}`}
        </span>
      </div>
      {item.status === 'needs_annotators' && (
        <p className="banner banner-warn" data-testid="needs-annotators">
          Every annotator of this project has answered or skipped this item, and it still lacks answers: add annotators to the project, or lower its overlap.
        </p>
      )}
      <Conversation turns={item.conversation ?? []} />
      {responses.length > 0 && (
        <>
          <h3 className="small" data-testid="stored-order-label">
            Responses in stored order (A is the first stored response; each answer below says the order its annotator saw)
          </h3>
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
        </>
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

      {project.kind !== 'demonstration' && <AdjudicationForm key={`${item.id}-${item.adjudication?.decided_at ?? ''}`} project={project} item={item} onSaved={reload} />}
      {project.kind !== 'demonstration' && <GoldForm key={item.id} project={project} item={item} onSaved={reload} />}
    </div>
  )
}

function AnswerCard({ answer, responseIds }: { answer: Row; responseIds: number[] }) {
  const value = describeAnswer(answer, responseIds)
  const time = Number(answer.time_spent_ms)
  const criteria = (answer.criteria ?? {}) as Record<string, unknown>
  const text = typeof answer.text === 'string' && answer.text ? answer.text : null
  const rationale = typeof answer.rationale === 'string' ? answer.rationale : ''
  const seen = shownOrder(answer.shown_order, responseIds)
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
      {responseIds.length > 1 && Array.isArray(answer.shown_order) && answer.shown_order.length > 0 && (
        <div className="muted small" data-testid="shown-order">
          {seen ? `Saw them as ${seen} (left to right, in stored letters)` : 'Saw them in the stored order'}
        </div>
      )}
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
