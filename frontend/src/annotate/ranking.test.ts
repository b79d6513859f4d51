import { describe, expect, it } from 'vitest'
import { moveBy, moveTo, rankingKey, type RankingState } from './ranking'

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
    expect(state).toEqual({ order: [30, 10, 20, 40], selected: 30 })
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
})
