import { describe, expect, it } from 'vitest'
import { moveBy, moveCard, moveTo, rankingGroups, rankingKey, rankingPayload, type RankingState } from './ranking'

describe('ranking reorder', () => {
  it('moves an element and clamps at the ends', () => {
    expect(moveBy([1, 2, 3], 2, -1)).toEqual([1, 3, 2])
    expect(moveBy([1, 2, 3], 0, -1)).toEqual([1, 2, 3])
    expect(moveBy([1, 2, 3], 2, 5)).toEqual([1, 2, 3])
    expect(moveTo([1, 2, 3, 4], 0, 3)).toEqual([2, 3, 4, 1])
  })

  it('selects the card at the pressed position and moves it with the arrows, selection following the card', () => {
    let state: RankingState = { order: [10, 20, 30, 40], selected: null }
    const press = (key: string) => {
      state = rankingKey(state, key) ?? state
    }
    press('3') // card 30
    press('ArrowUp')
    press('ArrowUp')
    expect(state).toEqual({ order: [30, 10, 20, 40], selected: 30, moved: true })
    press('4') // now card 40, at position 4
    press('ArrowDown') // clamped
    press('ArrowUp')
    expect(state.order).toEqual([30, 10, 40, 20])
  })

  it('ignores numbers past K and arrows with nothing selected', () => {
    const state: RankingState = { order: [1, 2, 3], selected: null }
    expect(rankingKey(state, '4')).toBeNull()
    expect(rankingKey(state, 'ArrowUp')).toBeNull()
  })

  it('marks the ranking moved only when a card really moves or is tied', () => {
    const state: RankingState = { order: [1, 2, 3], selected: null }
    expect(rankingKey(state, '1')!.moved).toBeUndefined()
    expect(rankingKey({ ...state, selected: 1 }, 'ArrowUp')!.moved).toBeUndefined() // the top card cannot go up
    expect(rankingKey({ ...state, selected: 1 }, 'ArrowDown')!.moved).toBe(true)
    expect(rankingKey({ ...state, selected: 2 }, '=', true)!.moved).toBe(true)
  })

  it('ties the selected card with the one above on =, unties on a second =, and submits groups only when tied', () => {
    let state: RankingState = { order: [10, 20, 30, 40], selected: null }
    const press = (key: string) => {
      state = rankingKey(state, key, true) ?? state
    }
    press('3') // card 30
    press('=')
    expect(rankingGroups(state)).toEqual([[10], [20, 30], [40]])
    expect(rankingPayload(state)).toEqual({ ranking: [[10], [20, 30], [40]] })
    press('4')
    press('=') // 40 joins the group of 20 and 30
    expect(rankingGroups(state)).toEqual([[10], [20, 30, 40]])
    press('=')
    press('3')
    press('=')
    expect(state.tied).toBeUndefined()
    expect(rankingPayload(state)).toEqual({ ranking: [10, 20, 30, 40] })
  })

  it('ignores = on the top card, and when the project does not allow ties', () => {
    const state: RankingState = { order: [1, 2, 3], selected: 1 }
    expect(rankingKey(state, '=', true)).toBeNull()
    expect(rankingKey({ ...state, selected: 2 }, '=')).toBeNull()
  })

  it('a moved card leaves its tie group and never joins the one it lands in', () => {
    const tied: RankingState = { order: [1, 2, 3, 4], selected: null, tied: [3, 4] } // 2 = 3 = 4
    expect(rankingGroups(moveCard(tied, 3, 0))).toEqual([[3], [1], [2, 4]]) // the group closes up
    expect(rankingGroups(moveCard(tied, 2, 0))).toEqual([[2], [1], [3, 4]]) // 3 was tied to 2: now untied from 1
    expect(rankingGroups(moveCard({ order: [1, 2, 3, 4], selected: null, tied: [2] }, 4, 1))).toEqual([[1], [4], [2], [3]])
  })
})
