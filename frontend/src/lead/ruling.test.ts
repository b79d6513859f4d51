import { describe, expect, it } from 'vitest'
import { rulingPayload } from './ruling'
import { shownOrder } from './answers'

describe('ruling payload', () => {
  it('names a submitted answer, or carries the lead’s own answer, with the note trimmed', () => {
    expect(rulingPayload({ answer: 12 }, null, '  B cites the source ')).toEqual({ note: 'B cites the source', from_answer: 12 })
    expect(rulingPayload({ own: true }, { chosen: 5, strength: 2 }, 'mine')).toEqual({ chosen: 5, strength: 2, note: 'mine' })
  })

  it('refuses a missing note or a missing own answer before sending', () => {
    expect(rulingPayload({ answer: 12 }, null, '   ')).toEqual({ error: { field: 'note', message: 'Say why this answer stands.' } })
    expect(rulingPayload({ own: true }, null, 'x')).toMatchObject({ error: { field: 'preference' } })
  })
})

describe('shown order', () => {
  it('says which stored response each annotator saw first, and nothing when it was the stored order', () => {
    expect(shownOrder([11, 10], [10, 11])).toBe('B, A')
    expect(shownOrder([10, 11], [10, 11])).toBeNull()
    expect(shownOrder([], [10, 11])).toBeNull()
    expect(shownOrder([12, 10, 11], [10, 11, 12])).toBe('C, A, B')
  })
})
