import { useState, type ReactNode } from 'react'
import { api, ApiError, rows, type FieldError } from '../lib/api'
import { useSession } from '../lib/auth'
import { errorText, toErrors } from '../lib/errors'
import { pushNotice } from '../lib/notices'
import { useGet, useInvalidate, useProject } from '../lib/queries'
import { Link, useNavigate, type NavigateFunction } from 'react-router'
import type { Item, Project } from '../lib/types'
import { answerSummary, keptFields, type MyAnswer } from './answerSummary'
import { DemonstrationTask } from './DemonstrationTask'
import { clearDraft, draftKey, loadDraft, saveDraft } from './drafts'
import { PairwiseTask } from './PairwiseTask'
import { RankingTask } from './RankingTask'
import type { TaskProps } from './taskTypes'
import { apiPaths, withQuery } from '../lib/paths'

const TASKS: Record<Project['kind'], (props: TaskProps) => ReactNode> = {
  pairwise: PairwiseTask,
  ranking: RankingTask,
  demonstration: DemonstrationTask,
}

interface Skipped {
  assignment: number
  item: number
  reason: string
  skipped_at: string
  prompt: string
}

type Page<T> = T[] | { results: T[]; next?: string | null }

/** The annotator's own work in a project: answers (changeable until their item is complete) and skipped items. */
export function MyAnswersPage({ projectId }: { projectId: number }) {
  const navigate = useNavigate()
  const { data: project, error } = useProject(projectId)
  const answers = useGet<Page<MyAnswer>>(withQuery(apiPaths.myAnswers(), { project: projectId }))
  const skipped = useGet<Page<Skipped>>(withQuery(apiPaths.mySkipped(), { project: projectId }))
  const invalidate = useInvalidate()
  const [editing, setEditing] = useState<number | null>(null)
  const [older, setOlder] = useState<{ rows: MyAnswer[]; next: string | null } | null>(null)

  if (error) return <div className="page form-error">Could not open this project: {errorText(error)}</div>
  if (!project) return <div className="page muted">Loading…</div>
  if (editing !== null) {
    return (
      <EditAnswer
        project={project}
        answerId={editing}
        onDone={() => {
          setEditing(null)
          setOlder(null)
          invalidate(apiPaths.myAnswers()) // the list, and this answer's own read
        }}
      />
    )
  }
  const mine = [...rows(answers.data), ...(older?.rows ?? [])]
  const next = older ? older.next : nextPage(answers.data)
  const skips = rows(skipped.data)
  const showOlder = async () => {
    if (!next) return
    try {
      const page = await api.get<Page<MyAnswer>>(relative(next))
      setOlder({ rows: [...(older?.rows ?? []), ...rows(page)], next: nextPage(page) })
    } catch (e) {
      pushNotice('warn', `Could not load older answers: ${errorText(e)}`)
    }
  }
  return (
    <div className="page my-answers">
      <div className="page-head">
        <h1>My answers · {project.name}</h1>
        <Link to={`/projects/${project.id}/annotate`} className="btn btn-primary">
          Back to annotating
        </Link>
      </div>

      <section aria-labelledby="skipped-title">
        <h2 id="skipped-title">Skipped ({skips.length})</h2>
        {skipped.error != null && <p className="form-error">{errorText(skipped.error)}</p>}
        {skipped.data && skips.length === 0 && <p className="muted">Nothing skipped.</p>}
        <ul className="history" data-testid="skipped-list">
          {skips.map((s) => (
            <li key={s.assignment} className="history-row card">
              <div className="history-main">
                <div className="history-prompt">{s.prompt || `Item ${s.item}`}</div>
                <div className="muted small">
                  Skipped {new Date(s.skipped_at).toLocaleString()}
                  {s.reason && <> · “{s.reason}”</>}
                </div>
              </div>
              <button type="button" className="btn" onClick={() => takeBack(navigate, project.id, s.assignment, () => invalidate(apiPaths.mySkipped()))}>
                Answer it now
              </button>
            </li>
          ))}
        </ul>
      </section>

      <section aria-labelledby="answers-title">
        <h2 id="answers-title">Answers ({mine.length}{next ? '+' : ''})</h2>
        {answers.error != null && <p className="form-error">{errorText(answers.error)}</p>}
        {answers.data && mine.length === 0 && <p className="muted">No answers yet in this project.</p>}
        <ul className="history" data-testid="answer-list">
          {mine.map((a) => (
            <li key={a.id} className="history-row card" data-answer={a.id}>
              <div className="history-main">
                <div className="history-prompt">{a.prompt || `Item ${a.item}`}</div>
                <div className="small">
                  <strong>{answerSummary(a)}</strong>
                  {a.flags.length > 0 && <span className="tag">flagged: {a.flags.join(', ')}</span>}
                  <span className="muted"> · {new Date(a.updated_at).toLocaleString()}</span>
                </div>
              </div>
              {a.editable ? (
                <button type="button" className="btn" onClick={() => setEditing(a.id)} aria-label={`Change answer ${a.id}`}>
                  Change
                </button>
              ) : (
                <span className="muted small" title="The item has all its answers: they are final">
                  Final
                </span>
              )}
            </li>
          ))}
        </ul>
        {next && (
          <button type="button" className="btn" onClick={showOlder}>
            Show older answers
          </button>
        )}
      </section>
    </div>
  )
}

const nextPage = <T,>(page: Page<T> | undefined): string | null => (page && !Array.isArray(page) ? page.next ?? null : null)

/** The API's absolute `next` link as the path the client fetches. */
function relative(url: string): string {
  const parsed = new URL(url, window.location.origin)
  return parsed.pathname + parsed.search
}

async function takeBack(navigate: NavigateFunction, projectId: number, assignment: number, reload: () => void) {
  try {
    await api.post(apiPaths.assignmentAction(assignment, 'unskip'))
    navigate(`/projects/${projectId}/annotate`) // `next` returns the lease taken back
  } catch (err) {
    pushNotice('warn', `Could not take that item back: ${errorText(err)}`)
    reload()
  }
}

interface AnswerDetail extends MyAnswer {
  shown: Item
}

function EditAnswer({ project, answerId, onDone }: { project: Project; answerId: number; onDone: () => void }) {
  const { me } = useSession()
  const { data, error } = useGet<AnswerDetail>(apiPaths.myAnswer(answerId), { fresh: true })
  const [errors, setErrors] = useState<FieldError[]>([])
  const [sending, setSending] = useState(false)
  if (error) return <div className="page form-error">Could not open this answer: {errorText(error)}</div>
  if (!data) return <div className="page muted">Loading…</div>
  const key = draftKey(me.username, project.id, data.item)
  if (project.kind === 'demonstration' && !loadDraft(key)) saveDraft(key, data.text) // start from the stored text

  async function save(body: Record<string, unknown>) {
    setSending(true)
    setErrors([])
    try {
      await api.patch(apiPaths.myAnswer(answerId), { ...keptFields(data!), ...body })
      clearDraft(key)
      pushNotice('ok', 'Your answer was changed.')
      onDone()
    } catch (err) {
      setErrors(err instanceof ApiError && err.status === 409 ? [{ message: err.message }] : toErrors(err))
      setSending(false)
    }
  }

  const Task = TASKS[project.kind]
  return (
    <div className="page edit-answer">
      <div className="page-head">
        <h1>Change my answer</h1>
        <button type="button" className="btn" onClick={onDone}>
          Cancel
        </button>
      </div>
      <p className="muted">
        Stored now: <strong data-testid="stored-answer">{answerSummary(data)}</strong>. Answer again below; the new answer replaces it.
      </p>
      <div className={sending ? 'task-wrap busy' : 'task-wrap'}>
        <Task project={project} assignment={{ assignment: answerId, expires_at: '', item: data.shown }} onSubmit={save} active={!sending} errors={errors} />
      </div>
    </div>
  )
}
