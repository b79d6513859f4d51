import { useState } from 'react'
import { Dialog } from './Dialog'
import { FLAG_OPTIONS, type Flagging } from './flags'

interface Props {
  initial: Flagging
  onApply: (flagging: Flagging) => void // kept for the answer
  onSkip: (flagging: Flagging) => void // the item cannot be answered: skip it with the flags as the reason
  onCancel: () => void
}

/** Flag the item: some of unsafe, PII, broken, and an optional note. Enter keeps the flags for the answer. */
export function FlagDialog({ initial, onApply, onSkip, onCancel }: Props) {
  const [flags, setFlags] = useState<string[]>(initial.flags)
  const [note, setNote] = useState(initial.note)
  const toggle = (name: string) => setFlags((f) => (f.includes(name) ? f.filter((x) => x !== name) : [...f, name]))
  const none = flags.length === 0
  return (
    <Dialog title="Flag this item" id="flag-title" onSubmit={() => onApply({ flags, note })} onCancel={onCancel}>
      <fieldset className="flag-options">
        <legend className="muted small">What is wrong with it?</legend>
        {FLAG_OPTIONS.map((option) => (
          <label key={option.name} className="check">
            <input type="checkbox" checked={flags.includes(option.name)} onChange={() => toggle(option.name)} data-flag={option.name} />
            {option.label}
          </label>
        ))}
      </fieldset>
      <label className="field">
        <span>Note (optional)</span>
        <textarea rows={2} value={note} onChange={(e) => setNote(e.target.value)} maxLength={1000} placeholder="What should the lead know?" />
      </label>
      <div className="modal-actions">
        <span className="muted small key-hint">
          <kbd>Space</kbd> ticks · <kbd>Enter</kbd> flags · <kbd>Esc</kbd> cancel
        </span>
        <button type="button" className="btn" disabled={none} onClick={() => onSkip({ flags, note })}>
          Flag and skip
        </button>
        <button type="submit" className="btn btn-primary" disabled={none && initial.flags.length === 0}>
          {none ? 'Remove flags' : 'Flag my answer'}
        </button>
      </div>
    </Dialog>
  )
}
