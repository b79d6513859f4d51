// Reading items and answers from the lead endpoints. Stored answers are canonical: a pairwise `preference`
// in -3..3 relative to the item's stored response order (negative: the first stored response is better).
import type { Item } from '../lib/types'

export type Row = Record<string, unknown>

export interface LeadItem extends Item {
  external_id?: string
  response_ids?: number[]
  status?: string
  is_gold?: boolean
  gold_answer?: number | number[] | number[][] | null
  n_submitted?: number
  n_leased?: number
  agreement?: number | null
  adjudicated?: boolean
  answers?: Row[]
  adjudication?: Adjudication | null
  neighbours?: { previous: number | null; next: number | null }
}

/** A lead's ruling on an item: the answer that stands (canonical), and who settled it, when and why. */
export interface Adjudication {
  preference: number | null
  ranking: (number | number[])[] | null
  from_answer: number | null
  note: string
  decided_by: string | null
  decided_at: string
}

export function firstPrompt(item: Item): string {
  const turn = item.conversation?.find((t) => t.role === 'user') ?? item.conversation?.[0]
  return turn?.content ?? ''
}

const STRENGTH = ['', 'slightly', 'clearly', 'much']

/** Letter of a response by its position in the stored order: A, B, C… */
export function letter(index: number): string {
  return String.fromCharCode(65 + index)
}

/** "A much better" / "Tie" for a canonical preference; A is the first stored response. */
export function describePreference(preference: number): string {
  if (preference === 0) return 'Tie'
  const side = preference < 0 ? 'A' : 'B'
  return `${side} ${STRENGTH[Math.abs(preference)] ?? ''} better`
}

/** "C > A = B": ids best first, or groups best first when some are tied. */
export function describeRanking(ranking: (number | number[])[], responseIds: number[]): string {
  const name = (id: number) => (responseIds.includes(id) ? letter(responseIds.indexOf(id)) : `#${id}`)
  return ranking.map((entry) => (Array.isArray(entry) ? entry.map(name).join(' = ') : name(entry))).join(' > ')
}

/** A short reading of one stored answer's main value (or of a criterion's value). */
export function describeValue(value: unknown, responseIds: number[]): string {
  if (typeof value === 'number') return describePreference(value)
  if (Array.isArray(value)) return describeRanking(value as (number | number[])[], responseIds)
  return ''
}

export function describeAnswer(answer: Row, responseIds: number[]): string {
  const parts: string[] = []
  if (typeof answer.preference === 'number') parts.push(describePreference(answer.preference))
  if (Array.isArray(answer.ranking)) parts.push(describeRanking(answer.ranking as (number | number[])[], responseIds))
  if (answer.both_bad) parts.push('both bad')
  return parts.join(' · ')
}

/** The order an annotator saw the responses in, as stored letters ("B, A"), or null when it is the stored order. */
export function shownOrder(shown: unknown, responseIds: number[]): string | null {
  if (!Array.isArray(shown) || shown.length === 0) return null
  const ids = shown as number[]
  if (ids.every((id, i) => id === responseIds[i])) return null
  return ids.map((id) => (responseIds.includes(id) ? letter(responseIds.indexOf(id)) : `#${id}`)).join(', ')
}
