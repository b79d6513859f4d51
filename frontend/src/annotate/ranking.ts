// Keyboard ranking: pick a card by its position number, move it with the arrow keys.

/** Move the element at `from` by `delta` places, clamped to the list; returns a new array. */
export function moveBy<T>(list: readonly T[], from: number, delta: number): T[] {
  const to = Math.max(0, Math.min(list.length - 1, from + delta))
  return moveTo(list, from, to)
}

/** Move the element at `from` to index `to`; returns a new array. */
export function moveTo<T>(list: readonly T[], from: number, to: number): T[] {
  const next = list.slice()
  if (from < 0 || from >= list.length || to < 0 || to >= list.length || from === to) return next
  const [moved] = next.splice(from, 1)
  next.splice(to, 0, moved)
  return next
}

export interface RankingState {
  order: number[] // response ids, best first
  selected: number | null // the selected response id
}

/**
 * Apply one key press; returns the new state, or null when the key means nothing here.
 * Digits 1..K select the card now at that position; ArrowUp/ArrowDown move the selected card.
 */
export function rankingKey(state: RankingState, key: string): RankingState | null {
  if (/^[1-9]$/.test(key)) {
    const index = Number(key) - 1
    if (index >= state.order.length) return null
    return { ...state, selected: state.order[index] }
  }
  if ((key === 'ArrowUp' || key === 'ArrowDown') && state.selected !== null) {
    const from = state.order.indexOf(state.selected)
    if (from === -1) return null
    return { ...state, order: moveBy(state.order, from, key === 'ArrowUp' ? -1 : 1) }
  }
  if (key === 'Escape' && state.selected !== null) return { ...state, selected: null }
  return null
}
