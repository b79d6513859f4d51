import { useMutation } from '@tanstack/react-query'
import { useCallback, useEffect, useRef, useState, type ReactNode } from 'react'
import { Markdown } from '../components/Markdown'
import { ProgressBar, Timer } from '../components/ui'
import { ApiError, NetworkError, request, uuid4, type FieldError } from '../lib/api'
import { useSession } from '../lib/auth'
import { errorText } from '../lib/errors'
import { isPlainKey, useKeydown } from '../lib/keyboard'
import { pushNotice } from '../lib/notices'
import { useProject } from '../lib/queries'
import { Link } from 'react-router'
import type { NextAssignment, Project } from '../lib/types'
import { DemonstrationTask } from './DemonstrationTask'
import { clearDraft, draftKey } from './drafts'
import { FlagDialog } from './FlagDialog'
import { flagSkipReason, NO_FLAGS, withFlags, type Flagging } from './flags'
import { PairwiseTask } from './PairwiseTask'
import { answerQueue, describeErrors } from './queue'
import { RankingTask } from './RankingTask'
import type { Outcome } from './retryQueue'
import { SkipDialog } from './SkipDialog'
import type { TaskProps } from './taskTypes'
import { apiPaths } from '../lib/paths'

const TASKS: Record<Project['kind'], (props: TaskProps) => ReactNode> = {
  pairwise: PairwiseTask,
  ranking: RankingTask,
  demonstration: DemonstrationTask,
}

export function AnnotatePage({ projectId }: { projectId: number }) {
  // Fresh, not the cache's copy: the session starts its counters and the guidelines from it.
  const { data: project, error } = useProject(projectId, { fresh: true })
  if (error) return <div className="page form-error">Could not open this project: {errorText(error)}</div>
  if (!project) return <div className="page muted">Loading…</div>
  return <AnnotationSession project={project} />
}

type Phase = 'loading' | 'ready' | 'sending' | 'waiting' | 'done' | 'failed'

function AnnotationSession({ project }: { project: Project }) {
  const { me, refresh } = useSession()
  const [current, setCurrent] = useState<NextAssignment | null>(null)
  const [loadPhase, setPhase] = useState<Phase>('loading')
  const [failure, setFailure] = useState('')
  const [errors, setErrors] = useState<FieldError[]>([])
  const [progress, setProgress] = useState(project.my_progress ?? { done: 0, skipped: 0, remaining: 0 })
  const [guidelinesOpen, setGuidelinesOpen] = useState(false)
  const [skipOpen, setSkipOpen] = useState(false)
  const [flagOpen, setFlagOpen] = useState(false)
  const [flagging, setFlagging] = useState<Flagging>(NO_FLAGS)
  const seenKey = `rlhf.guidelinesSeen.v1:${me.username}:${project.id}`
  // A project's guidelines come first, before its first item; after that they are a G away.
  const [intro, setIntro] = useState(() => !!project.guidelines.trim() && progress.done + progress.skipped === 0 && !localStorage.getItem(seenKey))
  const dialogOpen = skipOpen || flagOpen || intro
  const startedAt = useRef(performance.now())
  const alive = useRef(true)

  // `next` may be asked again: it hands back the lease the caller already holds, so a lost answer costs nothing.
  const next = useMutation({
    mutationFn: async () => {
      await answerQueue.drained() // a pending answer (maybe from before a reload) goes first
      return request<NextAssignment>('POST', apiPaths.next(project.id))
    },
    retry: (_, err) => alive.current && isTransient(err),
    retryDelay: (attempt) => Math.min(15000, 1000 * 2 ** attempt),
    networkMode: 'always', // the browser's online flag is not trusted: a retry finds out
  })
  const { mutate } = next

  const loadNext = useCallback(() => {
    setPhase('loading')
    mutate(undefined, {
      onSuccess: (response) => {
        if (!alive.current) return
        startedAt.current = performance.now()
        setErrors([])
        if (response.status === 204 || !response.data) {
          setCurrent(null)
          setPhase('done')
        } else {
          setCurrent(response.data)
          setFlagging(NO_FLAGS)
          setPhase('ready')
        }
      },
      onError: (err) => {
        if (!alive.current) return
        if (err instanceof ApiError && (err.status === 401 || err.status === 403)) {
          refresh() // the session may have ended: the app shows the login screen if so
        }
        setFailure(errorText(err))
        setPhase('failed')
      },
    })
  }, [mutate, refresh])

  useEffect(() => {
    alive.current = true
    loadNext()
    return () => {
      alive.current = false
    }
  }, [loadNext])

  // A `next` that failed and will be tried again: the screen says it is waiting for the server.
  const phase: Phase = loadPhase === 'loading' && next.failureCount > 0 ? 'waiting' : loadPhase

  const settle = useCallback(
    (outcome: Outcome, kind: 'submit' | 'skip') => {
      if (outcome.status === 'invalid') {
        setErrors(outcome.errors.length ? outcome.errors : [{ message: 'The server rejected this answer.' }])
        setPhase('ready')
        return
      }
      if (outcome.status === 'ok') {
        setProgress((p) => ({
          done: p.done + (kind === 'submit' ? 1 : 0),
          skipped: p.skipped + (kind === 'skip' ? 1 : 0),
          remaining: Math.max(0, p.remaining - 1),
        }))
      } else if (outcome.status === 'conflict') {
        pushNotice('warn', 'Your time on that item ran out and it went to someone else, so that answer was not recorded. Here is a new item.')
      } else {
        pushNotice('error', `The server refused that ${kind === 'submit' ? 'answer' : 'skip'}: ${describeErrors(outcome) || `HTTP ${outcome.httpStatus}`}.`, 0)
      }
      loadNext()
    },
    [loadNext],
  )

  const send = useCallback(
    async (kind: 'submit' | 'skip', body: Record<string, unknown>) => {
      if (!current || phase !== 'ready') return
      setPhase('sending')
      setErrors([])
      const outcome = await answerQueue.enqueue({
        key: uuid4(),
        user: me.username,
        project: project.id,
        assignment: current.assignment,
        kind,
        body,
        createdAt: Date.now(),
      })
      if (outcome.status === 'ok' && kind === 'submit') {
        clearDraft(draftKey(me.username, project.id, current.item.id))
        tellGold(outcome.data)
      }
      if (alive.current) settle(outcome, kind)
    },
    [current, phase, me.username, project.id, settle],
  )

  const onSubmit = useCallback(
    (body: Record<string, unknown>) => send('submit', withFlags({ ...body, time_spent_ms: Math.round(performance.now() - startedAt.current) }, flagging)),
    [send, flagging],
  )

  function startAnnotating() {
    localStorage.setItem(seenKey, '1')
    setIntro(false)
    startedAt.current = performance.now() // reading the guidelines is not time on the item
  }

  useKeydown((event) => {
    if (event.key === 'Escape' && event.target instanceof HTMLTextAreaElement) {
      event.target.blur() // so S and G work again without reaching for the mouse
      return
    }
    if (!isPlainKey(event) || event.repeat) return
    const key = event.key.toLowerCase()
    if (intro) {
      if (event.key === 'Enter' && !(event.target instanceof HTMLButtonElement || event.target instanceof HTMLAnchorElement)) {
        event.preventDefault()
        startAnnotating()
      }
    } else if (key === 'g') setGuidelinesOpen((v) => !v)
    else if ((key === 's' || key === 'f') && phase === 'ready') {
      event.preventDefault()
      if (key === 's') setSkipOpen(true)
      else setFlagOpen(true)
    }
  }, !skipOpen && !flagOpen)

  const Task = TASKS[project.kind]
  const total = progress.done + progress.remaining
  return (
    <div className={guidelinesOpen ? 'annotate with-guidelines' : 'annotate'}>
      <div className="annotate-toolbar">
        <div className="toolbar-title">
          <Link to="/" className="muted small">
            ← Projects
          </Link>
          <h1>{project.name}</h1>
          <Link to={`/projects/${project.id}/mine`} className="muted small">
            My answers
          </Link>
        </div>
        <div className="toolbar-progress" aria-label="Your progress">
          <ProgressBar value={progress.done} max={total} label="Items done" />
          <span className="small" data-testid="progress-text">
            {progress.done} done · {progress.remaining} left
          </span>
        </div>
        {current && phase !== 'done' && <Timer startedAt={startedAt.current} running={phase === 'ready'} key={current.assignment} />}
        <button type="button" className={guidelinesOpen ? 'btn btn-sm on' : 'btn btn-sm'} aria-pressed={guidelinesOpen} onClick={() => setGuidelinesOpen((v) => !v)}>
          Guidelines <kbd>G</kbd>
        </button>
        <button type="button" className={flagging.flags.length ? 'btn btn-sm on' : 'btn btn-sm'} disabled={phase !== 'ready' || intro} onClick={() => setFlagOpen(true)} data-testid="flag-button">
          {flagging.flags.length ? `Flagged: ${flagging.flags.join(', ')}` : 'Flag'} <kbd>F</kbd>
        </button>
        <button type="button" className="btn btn-sm" disabled={phase !== 'ready' || intro} onClick={() => setSkipOpen(true)}>
          Skip <kbd>S</kbd>
        </button>
      </div>

      <div className="annotate-body">
        <div className="annotate-main" data-reading-panel="" aria-busy={phase === 'loading' || phase === 'sending'}>
          {intro && (
            <section className="intro card" aria-labelledby="intro-title" data-testid="guidelines-intro">
              <h2 id="intro-title">Before you start: the guidelines</h2>
              <Markdown>{project.guidelines}</Markdown>
              <div className="intro-actions">
                <button type="button" className="btn btn-primary" onClick={startAnnotating}>
                  Start annotating <kbd>Enter</kbd>
                </button>
                <span className="muted small">
                  They stay a <kbd>G</kbd> away.
                </span>
              </div>
            </section>
          )}
          {phase === 'done' && (
            <div className="empty" data-testid="all-done">
              <h2>All done</h2>
              <p>There is nothing left for you in this project right now. Thank you!</p>
              <Link to="/" className="btn btn-primary">
                Back to projects
              </Link>
            </div>
          )}
          {phase === 'failed' && <div className="banner banner-error">Could not get the next item: {failure}</div>}
          {phase === 'waiting' && <div className="banner banner-warn">Waiting for the server to get the next item…</div>}
          {current && !intro && phase !== 'done' && phase !== 'failed' && (
            <div className={phase === 'loading' || phase === 'sending' ? 'task-wrap busy' : 'task-wrap'}>
              <Task key={current.assignment} project={project} assignment={current} onSubmit={onSubmit} active={phase === 'ready' && !dialogOpen} errors={errors} />
            </div>
          )}
          {!current && phase === 'loading' && <p className="muted">Loading the next item…</p>}
          <KeyHints kind={project.kind} allowTie={project.allow_tie} />
        </div>
        {guidelinesOpen && (
          <aside className="guidelines" aria-label="Guidelines">
            <div className="guidelines-head">
              <h2>Guidelines</h2>
              <button type="button" className="btn btn-ghost btn-sm" onClick={() => setGuidelinesOpen(false)} aria-label="Close guidelines">
                ×
              </button>
            </div>
            {project.guidelines ? <Markdown>{project.guidelines}</Markdown> : <p className="muted">This project has no guidelines yet.</p>}
          </aside>
        )}
      </div>

      {flagOpen && (
        <FlagDialog
          initial={flagging}
          onCancel={() => setFlagOpen(false)}
          onApply={(next) => {
            setFlagOpen(false)
            setFlagging(next)
          }}
          onSkip={(next) => {
            setFlagOpen(false)
            send('skip', { reason: flagSkipReason(next) })
          }}
        />
      )}
      {skipOpen && (
        <SkipDialog
          onCancel={() => setSkipOpen(false)}
          onConfirm={(reason) => {
            setSkipOpen(false)
            send('skip', reason ? { reason } : {})
          }}
        />
      )}
    </div>
  )
}

function KeyHints({ kind, allowTie }: { kind: Project['kind']; allowTie: boolean }) {
  return (
    <footer className="key-hints" aria-label="Keyboard shortcuts">
      {kind === 'pairwise' && (
        <>
          <span>
            <kbd>1</kbd>–<kbd>3</kbd> A better
          </span>
          {allowTie && (
            <span>
              <kbd>4</kbd> tie
            </span>
          )}
          <span>
            <kbd>5</kbd>–<kbd>7</kbd> B better
          </span>
          <span>
            <kbd>B</kbd> both bad
          </span>
          <span>
            <kbd>Enter</kbd> submit
          </span>
        </>
      )}
      {kind === 'ranking' && (
        <>
          <span>
            <kbd>1</kbd>…<kbd>K</kbd> pick card
          </span>
          <span>
            <kbd>↑</kbd>
            <kbd>↓</kbd> move
          </span>
          {allowTie && (
            <span>
              <kbd>=</kbd> tie with above
            </span>
          )}
          <span>
            <kbd>C</kbd> order is right
          </span>
          <span>
            <kbd>Enter</kbd> submit
          </span>
        </>
      )}
      {kind === 'demonstration' && (
        <>
          <span>
            <kbd>Ctrl</kbd>+<kbd>Enter</kbd> submit
          </span>
          <span>
            <kbd>Esc</kbd> leave the editor
          </span>
        </>
      )}
      <span>
        <kbd>S</kbd> skip
      </span>
      <span>
        <kbd>F</kbd> flag
      </span>
      <span>
        <kbd>G</kbd> guidelines
      </span>
      <span>
        <kbd>Space</kbd>
        <kbd>PgDn</kbd>
        <kbd>End</kbd> read on{kind === 'ranking' ? ' (arrows too, with no card picked)' : ''}
      </span>
    </footer>
  )
}

/** After a gold item's answer is stored, where the lead turned feedback on: the response says whether it matched. */
function tellGold(data: unknown): void {
  const feedback = (data as { gold_feedback?: { matched: boolean } } | null)?.gold_feedback
  if (!feedback) return
  if (feedback.matched) pushNotice('ok', 'That was a check item with a known answer, and your answer matched it.')
  else pushNotice('warn', 'That was a check item with a known answer, and your answer did not match it. The guidelines (G) may say why.', 15000)
}

/** Worth asking again: no answer at all, or the server's own failure. */
function isTransient(err: unknown): boolean {
  return err instanceof NetworkError || (err instanceof ApiError && err.status >= 500)
}
