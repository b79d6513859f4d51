// One's own stored answer in words, in the letters the annotator saw (A = the first response shown to them).
import { labelFor, type ScalePoint } from './scale'

export interface MyAnswer {
  id: number
  project: number
  item: number
  preference: number | null // -3..3 on the stored order: negative, the first stored response is better
  both_bad: boolean
  ranking: number[] | number[][] | null
  text: string
  rationale: string
  flags: string[]
  criteria: Record<string, unknown>
  confidence: number | null
  time_spent_ms: number | null
  shown_order: number[]
  stored_order: number[]
  prompt: string
  editable: boolean
  created_at: string
  updated_at: string
}

const LETTERS = 'ABCDEFGHIJ'

/** A changed answer replaces every field of the stored one: keep what the new answer does not say again. */
export function keptFields(answer: MyAnswer): Record<string, unknown> {
  const criteria = Object.fromEntries(Object.entries(answer.criteria).map(([name, value]) => [name, asPayload(value, answer.stored_order)]))
  const kept: Record<string, unknown> = { flags: answer.flags, rationale: answer.rationale }
  if (Object.keys(criteria).length) kept.criteria = criteria
  if (answer.confidence !== null) kept.confidence = answer.confidence
  if (answer.time_spent_ms !== null) kept.time_spent_ms = answer.time_spent_ms
  return kept
}

/** A stored (canonical) sub-answer as the payload that submits it again. */
function asPayload(value: unknown, stored: number[]): Record<string, unknown> {
  if (typeof value !== 'number') return { ranking: value }
  if (value === 0) return { tie: true }
  return { chosen: value < 0 ? stored[0] : stored[1], strength: Math.abs(value) }
}

export function answerSummary(answer: Pick<MyAnswer, 'preference' | 'both_bad' | 'ranking' | 'text' | 'shown_order' | 'stored_order'>): string {
  const letter = (id: number) => LETTERS[answer.shown_order.indexOf(id)] ?? '?'
  if (answer.preference !== null) {
    const p = answer.preference
    let label = 'Tie'
    if (p !== 0) {
      const better = p < 0 ? answer.stored_order[0] : answer.stored_order[1]
      const strength = Math.abs(p)
      label = labelFor((letter(better) === 'A' ? 4 - strength : 4 + strength) as ScalePoint)
    }
    return answer.both_bad ? `${label} · both bad` : label
  }
  if (answer.ranking) {
    const groups = answer.ranking.map((entry) => (Array.isArray(entry) ? entry : [entry]))
    return groups.map((group) => group.map(letter).sort().join(' = ')).join(' > ')
  }
  const text = answer.text.replace(/\s+/g, ' ').trim()
  return text.length > 120 ? `${text.slice(0, 119)}…` : text
}
