import { describe, expect, it } from 'vitest'
import type { CurationPreview } from '../lib/types'
import { describeRanking } from './answers'
import { inPairUnits } from './CurationPage'

describe('tied rankings on the lead screens', () => {
  it('reads a stored ranking in either form', () => {
    expect(describeRanking([12, 10, 11], [10, 11, 12])).toBe('C > A > B')
    expect(describeRanking([[12], [10, 11]], [10, 11, 12])).toBe('C > A = B')
  })

  it('shows a ranking preview in the units its rules act on: pairs and pair votes', () => {
    const preview = {
      initial: { answers: 15, items: 3, pairs: 9, pair_votes: 45 },
      preview: [{ rule: 'exclude_flagged', active: true, removed_answers: 1, removed_items: 0, removed_pairs: 0, removed_pair_votes: 3,
                  remaining_answers: 14, remaining_items: 3, remaining_pairs: 9, remaining_pair_votes: 42 }],
      remaining: { answers: 14, items: 3, pairs: 9, pair_votes: 42, consensus: { first: 4, tie: 1, second: 4 } },
    } as unknown as CurationPreview
    const shown = inPairUnits(preview)
    expect(shown.initial).toMatchObject({ answers: 45, items: 9 })
    expect(shown.preview[0]).toMatchObject({ removed_answers: 3, removed_items: 0, remaining_answers: 42, remaining_items: 9 })
    expect(shown.remaining).toMatchObject({ answers: 42, items: 9, consensus: { tie: 1 } })
  })
})
