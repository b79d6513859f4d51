// Curation rules between the form (strings as typed, empty = rule off) and the API's JSON
// (numbers or null), plus the words and the waterfall the curation and snapshot screens show.
import type { FieldError } from '../lib/api'
import type { CurationPreview, CurationRules, Kind } from '../lib/types'

export type NumberRule = 'min_answers_per_item' | 'min_item_agreement' | 'min_annotator_reliability' | 'min_gold_accuracy' | 'min_abs_strength'

/** What the inputs hold: numbers as typed, so an empty box stays empty until it becomes null in the JSON. */
export type RulesForm = Omit<CurationRules, NumberRule> & Record<NumberRule, string>

export interface NumberSpec {
  min: number
  max?: number
  step: number
  integer?: boolean
}

export const NUMBER_RULES: Record<NumberRule, NumberSpec> = {
  min_answers_per_item: { min: 1, step: 1, integer: true },
  min_item_agreement: { min: 0, max: 1, step: 0.05 },
  min_annotator_reliability: { min: 0, max: 1, step: 0.05 },
  min_gold_accuracy: { min: 0, max: 1, step: 0.05 },
  min_abs_strength: { min: 0, max: 3, step: 0.25 },
}

/** Every rule off: what the API assumes for a key that is missing. */
export const RULES_OFF: CurationRules = {
  min_answers_per_item: null,
  min_item_agreement: null,
  min_annotator_reliability: null,
  min_gold_accuracy: null,
  exclude_flagged: false,
  exclude_both_bad: false,
  ties: 'keep',
  min_abs_strength: null,
  consensus: 'majority',
  model_annotators: 'include',
  adjudication: 'use',
}


export function rulesToForm(rules: Partial<CurationRules> | null | undefined): RulesForm {
  const full = { ...RULES_OFF, ...(rules ?? {}) }
  return {
    ...full,
    min_answers_per_item: numberText(full.min_answers_per_item),
    min_item_agreement: numberText(full.min_item_agreement),
    min_annotator_reliability: numberText(full.min_annotator_reliability),
    min_gold_accuracy: numberText(full.min_gold_accuracy),
    min_abs_strength: numberText(full.min_abs_strength),
  }
}

function numberText(value: number | null | undefined): string {
  return value == null ? '' : String(value)
}

/** The JSON for a form, every rule spelled out (empty boxes as null), and an error per box that is not a valid number. */
export function formToRules(form: RulesForm): { rules: CurationRules; errors: FieldError[] } {
  const rules: CurationRules = { ...RULES_OFF, ...form } as unknown as CurationRules
  const errors: FieldError[] = []
  for (const key of Object.keys(NUMBER_RULES) as NumberRule[]) {
    const parsed = parseRuleNumber(form[key], NUMBER_RULES[key])
    rules[key] = typeof parsed === 'string' ? null : parsed
    if (typeof parsed === 'string') errors.push({ field: key, message: parsed })
  }
  return { rules, errors }
}

/** A number, null for an empty box, or the reason the text is not acceptable. */
export function parseRuleNumber(text: string, spec: NumberSpec): number | null | string {
  const trimmed = text.trim()
  if (trimmed === '') return null
  const value = Number(trimmed)
  if (!Number.isFinite(value)) return 'Enter a number, or leave it empty to turn the rule off.'
  if (spec.integer && !Number.isInteger(value)) return 'Enter a whole number.'
  if (value < spec.min || (spec.max !== undefined && value > spec.max)) {
    return spec.max === undefined ? `Enter ${spec.min} or more.` : `Enter a number from ${spec.min} to ${spec.max}.`
  }
  return value
}

/** Same rules? Compares what would be sent, so "0.50" and "0.5" are equal. */
export function sameRules(a: RulesForm, b: RulesForm): boolean {
  return JSON.stringify(formToRules(a).rules) === JSON.stringify(formToRules(b).rules)
}

/** Put each error on its field; errors naming no known field (or `rules`) go in `general`. */
export function errorsByField(errors: FieldError[]): { byField: Partial<Record<keyof CurationRules, string>>; general: FieldError[] } {
  const byField: Partial<Record<keyof CurationRules, string>> = {}
  const general: FieldError[] = []
  for (const e of errors) {
    const field = e.field?.replace(/^rules\./, '') as keyof CurationRules | undefined
    if (field && field in RULES_OFF) byField[field] = byField[field] ? `${byField[field]} ${e.message}` : e.message
    else general.push(e)
  }
  return { byField, general }
}

/** The rules in the order the API applies them (the preview's order), with what the table calls them. */
export const RULE_LABELS: Record<string, string> = {
  model_annotators: 'Model annotators',
  exclude_flagged: 'Flagged answers',
  exclude_both_bad: '“Both bad” answers',
  min_annotator_reliability: 'Annotator reliability',
  min_gold_accuracy: 'Annotator gold accuracy',
  min_answers_per_item: 'Answers per item',
  min_item_agreement: 'Item agreement',
  ties: 'Tied consensus',
  min_abs_strength: 'Consensus strength',
}

const fraction = (v: number) => `${Math.round(v * 100)}%`

/** One short line per active rule, for read-only summaries (the snapshot form, a snapshot's settings). */
export function describeRules(rules: Partial<CurationRules> | null | undefined, kind: Kind): string[] {
  const r = { ...RULES_OFF, ...(rules ?? {}) }
  if (kind === 'demonstration') return r.exclude_flagged ? ['flagged answers left out'] : []
  const lines: string[] = []
  if (r.model_annotators === 'exclude') lines.push('model annotators left out')
  if (r.exclude_flagged) lines.push('flagged answers left out')
  if (r.exclude_both_bad) lines.push('“both bad” answers left out')
  if (r.min_annotator_reliability != null) lines.push(`annotator reliability ≥ ${fraction(r.min_annotator_reliability)}`)
  if (r.min_gold_accuracy != null) lines.push(`gold accuracy ≥ ${fraction(r.min_gold_accuracy)}`)
  if (r.min_answers_per_item != null) lines.push(`≥ ${r.min_answers_per_item} answers per item`)
  if (r.min_item_agreement != null) lines.push(`item agreement ≥ ${fraction(r.min_item_agreement)}`)
  if (r.ties === 'drop') lines.push('tied items dropped')
  if (r.min_abs_strength != null) lines.push(`consensus strength ≥ ${r.min_abs_strength}`)
  if (r.consensus === 'dawid_skene') lines.push('Dawid–Skene consensus')
  if (r.adjudication === 'ignore') lines.push('lead rulings ignored')
  return lines
}

export interface WaterfallRow {
  rule: string
  label: string
  active: boolean
  removedAnswers: number
  removedItems: number
  remainingAnswers: number
  remainingItems: number
  /** Shares of the initial answers, 0..1: still standing after this rule, and removed by it. */
  kept: number
  removed: number
}

/** The preview's steps as waterfall rows, each bar measured against the answers before curation. */
export function waterfall(preview: CurationPreview): WaterfallRow[] {
  const total = preview.initial?.answers ?? 0
  const share = (n: number) => (total > 0 ? n / total : 0)
  return preview.preview.map((step) => ({
    rule: step.rule,
    label: RULE_LABELS[step.rule] ?? step.rule,
    active: step.active,
    removedAnswers: step.removed_answers,
    removedItems: step.removed_items,
    remainingAnswers: step.remaining_answers,
    remainingItems: step.remaining_items,
    kept: share(step.remaining_answers),
    removed: share(step.removed_answers),
  }))
}

