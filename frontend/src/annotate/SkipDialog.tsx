import { useEffect, useRef, useState, type FormEvent } from 'react'

/** Small modal asking why the item is skipped. Enter confirms, Escape cancels. */
export function SkipDialog({ onConfirm, onCancel }: { onConfirm: (reason: string) => void; onCancel: () => void }) {
  const [reason, setReason] = useState('')
  const input = useRef<HTMLInputElement>(null)
  const opener = useRef<Element | null>(null)

  useEffect(() => {
    opener.current = document.activeElement
    input.current?.focus()
    return () => {
      if (opener.current instanceof HTMLElement) opener.current.focus()
    }
  }, [])

  function submit(event: FormEvent) {
    event.preventDefault()
    onConfirm(reason.trim())
  }

  return (
    <div
      className="modal-backdrop"
      onMouseDown={(e) => e.target === e.currentTarget && onCancel()}
      onKeyDown={(e) => {
        // Keep Escape and the annotation hotkeys from reaching the page behind the dialog.
        e.stopPropagation()
        if (e.key === 'Escape') {
          e.preventDefault()
          onCancel()
        }
      }}
    >
      <form className="modal card" role="dialog" aria-modal="true" aria-labelledby="skip-title" onSubmit={submit}>
        <h2 id="skip-title">Skip this item</h2>
        <label className="field">
          <span>Reason (optional)</span>
          <input ref={input} value={reason} onChange={(e) => setReason(e.target.value)} placeholder="e.g. needs domain expertise, unreadable" maxLength={500} />
        </label>
        <div className="modal-actions">
          <span className="muted small">
            <kbd>Enter</kbd> skip · <kbd>Esc</kbd> cancel
          </span>
          <button type="button" className="btn" onClick={onCancel}>
            Cancel
          </button>
          <button type="submit" className="btn btn-primary">
            Skip item
          </button>
        </div>
      </form>
    </div>
  )
}
