// The 7-point pairwise scale: 1 = A much better … 4 = tie … 7 = B much better. A is the first response shown.
import type { PairwiseChoice } from '../lib/types'

export type ScalePoint = 1 | 2 | 3 | 4 | 5 | 6 | 7

export interface ScaleOption {
  point: ScalePoint
  label: string
  short: string
}

const ALL: ScaleOption[] = [
  { point: 1, label: 'A much better', short: 'A ≫' },
  { point: 2, label: 'A clearly better', short: 'A >' },
  { point: 3, label: 'A slightly better', short: 'A ≳' },
  { point: 4, label: 'Tie', short: '=' },
  { point: 5, label: 'B slightly better', short: 'B ≳' },
  { point: 6, label: 'B clearly better', short: 'B >' },
  { point: 7, label: 'B much better', short: 'B ≫' },
]

export function scaleOptions(allowTie: boolean): ScaleOption[] {
  return allowTie ? ALL : ALL.filter((o) => o.point !== 4)
}

/** The scale point a key press selects, or null when the key is not on this project's scale. */
export function pointForKey(key: string, allowTie: boolean): ScalePoint | null {
  if (!/^[1-7]$/.test(key)) return null
  const point = Number(key) as ScalePoint
  if (point === 4 && !allowTie) return null
  return point
}

/**
 * Turn a scale point into the submit payload. `shownIds` are the response ids in the order they were shown
 * (as `next` gave them), so A = shownIds[0], B = shownIds[1].
 */
export function pointToChoice(point: ScalePoint, shownIds: readonly number[]): PairwiseChoice {
  if (shownIds.length !== 2) throw new Error(`pairwise needs two responses, got ${shownIds.length}`)
  if (point === 4) return { tie: true }
  const chosen = point < 4 ? shownIds[0] : shownIds[1]
  const strength = (point < 4 ? 4 - point : point - 4) as 1 | 2 | 3
  return { chosen, strength }
}

/** The inverse of pointToChoice, for showing a stored answer on the scale. */
export function choiceToPoint(choice: Partial<PairwiseChoice> | null | undefined, shownIds: readonly number[]): ScalePoint | null {
  if (!choice) return null
  if ('tie' in choice && choice.tie) return 4
  if (!('chosen' in choice) || choice.chosen == null || !choice.strength) return null
  if (choice.chosen === shownIds[0]) return (4 - choice.strength) as ScalePoint
  if (choice.chosen === shownIds[1]) return (4 + choice.strength) as ScalePoint
  return null
}

export function labelFor(point: ScalePoint): string {
  return ALL[point - 1].label
}
