import { useState } from 'react'
import { FieldErrors } from '../components/Banners'
import { Markdown } from '../components/Markdown'
import { Conversation } from './Conversation'
import type { TaskProps } from './taskTypes'
import { useKeydown } from '../lib/hooks'

export function DemonstrationTask({ assignment, onSubmit, active, errors }: TaskProps) {
  const { item } = assignment
  const [text, setText] = useState('')
  const [hint, setHint] = useState('')

  function submit() {
    if (!text.trim()) {
      setHint('Write a response first.')
      return
    }
    onSubmit({ text })
  }

  useKeydown((event) => {
    if (event.key === 'Enter' && (event.ctrlKey || event.metaKey)) {
      event.preventDefault()
      submit()
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
            onChange={(e) => (setText(e.target.value), setHint(''))}
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
          <span className="decision-summary" id="demo-hint">
            {hint ? <span className="form-error">{hint}</span> : <span className="muted">{text.length} characters</span>}
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
