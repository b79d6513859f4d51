import { describe, expect, it } from 'vitest'
import type { CurationPreview } from '../lib/types'
import { describeRules, errorsByField, formToRules, parseRuleNumber, RULES_OFF, rulesToForm, sameRules, waterfall, NUMBER_RULES } from './curationRules'

describe('rules form ↔ JSON', () => {
  it('shows missing and null rules as empty boxes and the API defaults for the rest', () => {
    const form = rulesToForm({})
    expect(form.min_answers_per_item).toBe('')
    expect(form.min_item_agreement).toBe('')
    expect(form.min_abs_strength).toBe('')
    expect(form).toMatchObject({ exclude_flagged: false, exclude_both_bad: false, ties: 'keep', consensus: 'majority' })
    expect(rulesToForm(null)).toEqual(form)
    expect(rulesToForm({ min_item_agreement: null })).toEqual(form)
  })

  it('sends every rule, an empty box as null', () => {
    const { rules, errors } = formToRules(rulesToForm({}))
    expect(errors).toEqual([])
    expect(rules).toEqual(RULES_OFF)
    expect(Object.values(rules).filter((v) => v === null)).toHaveLength(5)
  })

  it('turns typed numbers into numbers and keeps the other settings', () => {
    const form = { ...rulesToForm({}), min_answers_per_item: '3', min_item_agreement: ' 0.6 ', min_abs_strength: '1.5', exclude_flagged: true, ties: 'drop' as const, consensus: 'dawid_skene' as const }
    expect(formToRules(form)).toEqual({
      rules: { ...RULES_OFF, min_answers_per_item: 3, min_item_agreement: 0.6, min_abs_strength: 1.5, exclude_flagged: true, ties: 'drop', consensus: 'dawid_skene' },
      errors: [],
    })
  })

  it('round-trips saved rules', () => {
    const saved = { ...RULES_OFF, min_gold_accuracy: 0.8, min_annotator_reliability: 0.25, exclude_both_bad: true }
    expect(formToRules(rulesToForm(saved)).rules).toEqual(saved)
  })

  it('names each box whose text is not an acceptable value, and sends null for it', () => {
    const form = { ...rulesToForm({}), min_answers_per_item: '2.5', min_item_agreement: '1.2', min_gold_accuracy: 'abc', min_abs_strength: '-1' }
    const { rules, errors } = formToRules(form)
    expect(errors.map((e) => e.field)).toEqual(['min_answers_per_item', 'min_item_agreement', 'min_gold_accuracy', 'min_abs_strength'])
    expect(errors[0].message).toBe('Enter a whole number.')
    expect(errors[1].message).toBe('Enter a number from 0 to 1.')
    expect(rules.min_item_agreement).toBeNull()
  })

  it('accepts the ends of each range', () => {
    expect(parseRuleNumber('0', NUMBER_RULES.min_item_agreement)).toBe(0)
    expect(parseRuleNumber('1', NUMBER_RULES.min_item_agreement)).toBe(1)
    expect(parseRuleNumber('3', NUMBER_RULES.min_abs_strength)).toBe(3)
    expect(parseRuleNumber('0', NUMBER_RULES.min_answers_per_item)).toBe('Enter 1 or more.')
    expect(parseRuleNumber('   ', NUMBER_RULES.min_answers_per_item)).toBeNull()
  })

  it('compares rules by what would be sent', () => {
    const a = { ...rulesToForm({}), min_item_agreement: '0.50' }
    expect(sameRules(a, { ...a, min_item_agreement: '0.5' })).toBe(true)
    expect(sameRules(a, { ...a, min_item_agreement: '' })).toBe(false)
    expect(sameRules(a, { ...a, ties: 'drop' })).toBe(false)
  })
})

describe('errorsByField', () => {
  it('puts errors on their rule (with or without a rules. prefix) and the rest in general', () => {
    const { byField, general } = errorsByField([
      { field: 'ties', message: "expected 'drop' or 'keep'" },
      { field: 'rules.min_item_agreement', message: 'expected a number or null' },
      { field: 'rules', message: 'must be an object' },
      { message: 'Server error' },
    ])
    expect(byField).toEqual({ ties: "expected 'drop' or 'keep'", min_item_agreement: 'expected a number or null' })
    expect(general.map((e) => e.message)).toEqual(['must be an object', 'Server error'])
  })
})

describe('describeRules', () => {
  it('lists the active rules in the order they apply', () => {
    expect(describeRules({ min_item_agreement: 0.6, exclude_flagged: true, ties: 'drop', consensus: 'dawid_skene' }, 'pairwise')).toEqual([
      'flagged answers left out',
      'item agreement ≥ 60%',
      'tied items dropped',
      'Dawid–Skene consensus',
    ])
    expect(describeRules({}, 'ranking')).toEqual([])
  })

  it('keeps only the flagged rule for demonstrations', () => {
    expect(describeRules({ exclude_flagged: true, min_answers_per_item: 2 }, 'demonstration')).toEqual(['flagged answers left out'])
    expect(describeRules({ min_answers_per_item: 2 }, 'demonstration')).toEqual([])
  })
})

describe('waterfall', () => {
  const preview: CurationPreview = {
    initial: { answers: 40, items: 10 },
    preview: [
      { rule: 'exclude_flagged', active: true, removed_answers: 4, removed_items: 0, remaining_answers: 36, remaining_items: 10 },
      { rule: 'min_item_agreement', active: true, removed_answers: 6, removed_items: 2, remaining_answers: 30, remaining_items: 8 },
      { rule: 'ties', active: false, removed_answers: 0, removed_items: 0, remaining_answers: 30, remaining_items: 8 },
    ],
    remaining: { answers: 30, items: 8, consensus: { first: 5, tie: 1, second: 2 } },
  }

  it('measures each bar against the answers before curation', () => {
    const rows = waterfall(preview)
    expect(rows.map((r) => [r.label, r.kept, r.removed])).toEqual([
      ['Flagged answers', 0.9, 0.1],
      ['Item agreement', 0.75, 0.15],
      ['Tied consensus', 0.75, 0],
    ])
    expect(rows[2].active).toBe(false)
  })

  it('draws empty bars when there is nothing to curate', () => {
    const rows = waterfall({ ...preview, initial: { answers: 0, items: 0 } })
    expect(rows.every((r) => r.kept === 0 && r.removed === 0)).toBe(true)
  })
})
