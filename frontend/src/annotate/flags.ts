// Flags an annotator puts on an item: stored with the answer in `flags` (the server's KNOWN_FLAGS names), which the
// curation rule "flagged answers" reads. The optional note goes into the answer's rationale, the one free-text field
// every kind of answer has. An item too broken to answer is flagged by skipping it, the flags and note in the reason.

export const FLAG_OPTIONS = [
  { name: 'unsafe', label: 'Unsafe or harmful content' },
  { name: 'pii', label: 'Personal data (PII)' },
  { name: 'broken', label: 'Broken item (unreadable, truncated, wrong task)' },
] as const

export interface Flagging {
  flags: string[]
  note: string
}

export const NO_FLAGS: Flagging = { flags: [], note: '' }

/** The answer body with the flags and the note added; the body's own rationale comes first. */
export function withFlags(body: Record<string, unknown>, flagging: Flagging): Record<string, unknown> {
  if (flagging.flags.length === 0) return body
  const note = flagging.note.trim()
  const own = typeof body.rationale === 'string' ? body.rationale : ''
  const rationale = note ? (own ? `${own}\n\nFlag note: ${note}` : `Flag note: ${note}`) : own
  return { ...body, flags: flagging.flags, ...(rationale ? { rationale } : {}) }
}

/** The skip reason that records flags on an item left unanswered. */
export function flagSkipReason(flagging: Flagging): string {
  const note = flagging.note.trim()
  return `Flagged ${flagging.flags.join(', ')}${note ? `: ${note}` : ''}`.slice(0, 2000)
}
