// What the adjudication form sends: one submitted answer that stands, or the lead's own, always with a note.
import type { FieldError } from '../lib/api'

export type RulingChoice = { answer: number } | { own: true }

export type RulingPayload = { note: string; from_answer: number } | ({ note: string } & Record<string, unknown>)

/** The PUT body, or the error to show before sending anything. `own` is the lead's answer in the submit form
 * (pairwise `{chosen, strength}` / `{tie: true}`, ranking `{ranking}`), null when none is chosen yet. */
export function rulingPayload(choice: RulingChoice, own: Record<string, unknown> | null, note: string): RulingPayload | { error: FieldError } {
  const text = note.trim()
  if (!text) return { error: { field: 'note', message: 'Say why this answer stands.' } }
  if ('answer' in choice) return { note: text, from_answer: choice.answer }
  if (!own) return { error: { field: 'preference', message: 'Choose your answer on the scale first.' } }
  return { ...own, note: text }
}
