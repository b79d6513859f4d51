import { useState } from 'react'
import { Dialog } from './Dialog'

/** Small modal asking why the item is skipped. Enter confirms, Escape cancels. */
export function SkipDialog({ onConfirm, onCancel }: { onConfirm: (reason: string) => void; onCancel: () => void }) {
  const [reason, setReason] = useState('')
  return (
    <Dialog title="Skip this item" id="skip-title" onSubmit={() => onConfirm(reason.trim())} onCancel={onCancel}>
      <label className="field">
        <span>Reason (optional)</span>
        <input value={reason} onChange={(e) => setReason(e.target.value)} placeholder="e.g. needs domain expertise, unreadable" maxLength={500} />
      </label>
      <div className="modal-actions">
        <span className="muted small key-hint">
          <kbd>Enter</kbd> skip · <kbd>Esc</kbd> cancel
        </span>
        <button type="button" className="btn" onClick={onCancel}>
          Cancel
        </button>
        <button type="submit" className="btn btn-primary">
          Skip item
        </button>
      </div>
    </Dialog>
  )
}
