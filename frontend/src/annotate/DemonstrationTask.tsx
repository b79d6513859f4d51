import { useState } from 'react'
import { FieldErrors } from '../components/Banners'
import { Markdown } from '../components/Markdown'
import { useSession } from '../lib/auth'
import { useKeydown } from '../lib/keyboard'
import { Conversation } from './Conversation'
import { draftKey, loadDraft, saveDraft } from './drafts'
import { scrollReading } from './scrolling'
import { isHeld, type TaskProps } from './taskTypes'

export function DemonstrationTask({ project, assignment, onSubmit, active, errors }: TaskProps) {
  const { item } = assignment
  const { me } = useSession()
  const key = draftKey(me.username, project.id, item.id)
  const [text, setText] = useState(() => loadDraft(key)) // AnnotationSession clears the draft once the answer is in
  const [hint, setHint] = useState('')
  const minChars = project.min_demonstration_chars ?? 0
  const length = text.trim().length

  function submit() {
    if (!text.trim()) {
      setHint('Write a response first.')
      return
    }
    if (length < minChars) {
      setHint(`Write at least ${minChars} characters (${length} so far).`)
      return
    }
    onSubmit({ text })
  }

  useKeydown((event) => {
    if (event.key === 'Enter' && (event.ctrlKey || event.metaKey)) {
      event.preventDefault()
      if (!isHeld(event)) submit()
    } else {
      scrollReading(event) // once Esc has left the editor
    }
  }, active)

  return (
    <div className="task task-demonstration" data-assignment={assignment.assignment} data-item={item.id}>
      <Conversation turns={item.conversation} />
      {item.responses.length > 0 && (
        <details className="extras">
          <summary>Reference responses ({item.responses.length})</summary>
          {item.responses.map((r) => (
            <Markdown key={r.id} className="reference">
              {r.text}
            </Markdown>
          ))}
        </details>
      )}
      <div className="editor">
        <label className="editor-pane">
          <span className="pane-title">Your response (markdown)</span>
          <textarea
            autoFocus
            value={text}
            onChange={(e) => (setText(e.target.value), setHint(''), saveDraft(key, e.target.value))}
            placeholder="Write the ideal assistant reply…"
            aria-describedby="demo-hint"
          />
        </label>
        <div className="editor-pane">
          <span className="pane-title">Preview</span>
          <div className="preview">{text.trim() ? <Markdown>{text}</Markdown> : <p className="muted">Nothing to preview yet.</p>}</div>
        </div>
      </div>
      <div className="decision-bar">
        <div className="decision-row">
          <span className="decision-summary" id="demo-hint" data-testid="demo-hint">
            {hint ? (
              <span className="form-error">{hint}</span>
            ) : (
              <span className={length < minChars ? 'muted' : 'muted ok'}>
                {minChars > 0 ? `${length} / ${minChars} characters at least` : `${text.length} characters`}
              </span>
            )}
          </span>
          <button type="button" className="btn btn-primary" onClick={submit} disabled={!active}>
            Submit <kbd>Ctrl</kbd>+<kbd>Enter</kbd>
          </button>
        </div>
        <FieldErrors errors={errors} />
      </div>
    </div>
  )
}
