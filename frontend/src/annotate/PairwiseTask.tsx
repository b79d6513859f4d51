import { useState } from 'react'
import { FieldErrors } from '../components/Banners'
import { Markdown } from '../components/Markdown'
import { isPlainKey, useKeydown } from '../lib/keyboard'
import { Conversation } from './Conversation'
import { pointForKey, pointToChoice, labelFor, type ScalePoint } from './scale'
import { ScaleBar } from './ScaleBar'
import { scrollReading } from './scrolling'
import { enterSubmits, isHeld, type TaskProps } from './taskTypes'

export function PairwiseTask({ project, assignment, onSubmit, active, errors }: TaskProps) {
  const { item } = assignment
  const shownIds = item.responses.map((r) => r.id)
  const criteriaNames = project.criteria ?? []
  const [point, setPoint] = useState<ScalePoint | null>(null)
  const [bothBad, setBothBad] = useState(false)
  const [criteria, setCriteria] = useState<Record<string, ScalePoint>>({})
  const [rationale, setRationale] = useState('')
  const [hint, setHint] = useState('')

  function submit() {
    if (point === null) {
      setHint('Choose a point on the scale first (keys 1–7).')
      return
    }
    const body: Record<string, unknown> = { ...pointToChoice(point, shownIds) }
    if (bothBad) body.both_bad = true
    const rated = Object.entries(criteria)
    if (rated.length > 0) body.criteria = Object.fromEntries(rated.map(([name, p]) => [name, pointToChoice(p, shownIds)]))
    if (rationale.trim()) body.rationale = rationale.trim()
    onSubmit(body)
  }

  useKeydown((event) => {
    if (event.key === 'Enter' && (event.ctrlKey || event.metaKey) && event.target instanceof HTMLTextAreaElement) {
      event.preventDefault()
      if (!isHeld(event)) submit()
      return
    }
    if (!isPlainKey(event)) return
    const chosen = pointForKey(event.key, project.allow_tie)
    if (chosen !== null) {
      setPoint(chosen)
      setHint('')
    } else if (event.key === 'b' || event.key === 'B') {
      setBothBad((v) => !v)
    } else if (event.key === 'Enter' && enterSubmits(event.target)) {
      event.preventDefault()
      if (!isHeld(event)) submit()
    } else {
      scrollReading(event)
    }
  }, active)

  return (
    <div className="task task-pairwise" data-assignment={assignment.assignment} data-item={item.id}>
      <Conversation turns={item.conversation} />
      <div className="responses-2">
        {item.responses.slice(0, 2).map((response, i) => (
          <section key={response.id} className={`response response-${i === 0 ? 'a' : 'b'}`} aria-label={`Response ${i === 0 ? 'A' : 'B'}`}>
            <header className="response-head">Response {i === 0 ? 'A' : 'B'}</header>
            <Markdown>{response.text}</Markdown>
          </section>
        ))}
      </div>

      <details className="extras">
        <summary>
          Criteria{criteriaNames.length ? ` (${criteriaNames.length})` : ''} and rationale <span className="muted">— optional</span>
        </summary>
        {criteriaNames.map((name) => (
          <div key={name} className="criterion">
            <span className="criterion-name">{name}</span>
            <ScaleBar
              compact
              label={`${name}: which response is better`}
              allowTie={project.allow_tie}
              value={criteria[name] ?? null}
              onChange={(p) => setCriteria((c) => ({ ...c, [name]: p }))}
            />
          </div>
        ))}
        <label className="field">
          <span>
            Rationale <span className="muted small">(<kbd>Ctrl</kbd>+<kbd>Enter</kbd> submits)</span>
          </span>
          <textarea rows={3} value={rationale} onChange={(e) => setRationale(e.target.value)} placeholder="Why is one response better?" />
        </label>
      </details>

      <div className="decision-bar">
        <ScaleBar showKeys label="Which response is better" allowTie={project.allow_tie} value={point} onChange={(p) => (setPoint(p), setHint(''))} />
        <div className="decision-row">
          <button
            type="button"
            className={bothBad ? 'btn toggle on' : 'btn toggle'}
            aria-pressed={bothBad}
            data-enter-submits=""
            onClick={() => setBothBad((v) => !v)}
          >
            <kbd>B</kbd> Both bad
          </button>
          <span className="decision-summary" aria-live="polite">
            {hint ? <span className="form-error">{hint}</span> : point ? labelFor(point) : <span className="muted">No choice yet</span>}
          </span>
          <button type="button" className="btn btn-primary" onClick={submit} disabled={!active}>
            Submit <kbd>Enter</kbd>
          </button>
        </div>
        <FieldErrors errors={errors} />
      </div>
    </div>
  )
}
