import { describe, expect, it } from 'vitest'
import { answerSummary, keptFields, type MyAnswer } from './answerSummary'

const answer = (over: Partial<MyAnswer>): MyAnswer => ({
  id: 1, project: 1, item: 1, preference: null, both_bad: false, ranking: null, text: '', rationale: '', flags: [],
  criteria: {}, confidence: null, time_spent_ms: null, shown_order: [5, 6], stored_order: [5, 6], prompt: '',
  editable: true, created_at: '', updated_at: '', ...over,
})

describe('answerSummary', () => {
  it('names the pairwise side by the letter the annotator saw, whatever the stored order', () => {
    expect(answerSummary(answer({ preference: -2 }))).toBe('A clearly better')
    expect(answerSummary(answer({ preference: -2, shown_order: [6, 5] }))).toBe('B clearly better')
    expect(answerSummary(answer({ preference: 0, both_bad: true }))).toBe('Tie · both bad')
  })

  it('writes rankings best first in shown letters, ties joined', () => {
    expect(answerSummary(answer({ ranking: [7, 5, 6], shown_order: [5, 6, 7] }))).toBe('C > A > B')
    expect(answerSummary(answer({ ranking: [[7], [5, 6]], shown_order: [5, 6, 7] }))).toBe('C > A = B')
  })

  it('keeps flags, rationale, time and criteria as payloads when an answer is changed', () => {
    const kept = keptFields(answer({ flags: ['pii'], rationale: 'why', time_spent_ms: 900, criteria: { honesty: 2, tone: 0 } }))
    expect(kept).toEqual({ flags: ['pii'], rationale: 'why', time_spent_ms: 900, criteria: { honesty: { chosen: 6, strength: 2 }, tone: { tie: true } } })
  })
})
