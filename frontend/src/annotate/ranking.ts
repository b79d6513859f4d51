// Keyboard ranking: pick a card by its position number, move it with the arrow keys, tie it with the card above.

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
  tied?: number[] // ids tied with the card directly above them; absent when nothing is tied
  moved?: true // a card was moved or tied: the order is the annotator's, not the one they were shown
}

function withTied(state: RankingState, tied: number[]): RankingState {
  const { tied: _old, ...rest } = state
  return tied.length ? { ...rest, tied } : rest
}

/**
 * Move the card `id` to index `to`. A moved card leaves its tie group and joins none: the card that was tied to it
 * from below is untied unless the moved card was itself tied above (then the group simply closes up), and the card
 * it lands on top of is untied, so that a move never silently ties two cards.
 */
export function moveCard(state: RankingState, id: number, to: number): RankingState {
  const from = state.order.indexOf(id)
  const order = moveTo(state.order, from, Math.max(0, Math.min(state.order.length - 1, to)))
  if (from === -1 || order.every((r, i) => r === state.order[i])) return { ...state, selected: id }
  const tied = new Set(state.tied ?? [])
  const below = state.order[from + 1]
  if (below !== undefined && tied.has(below) && !tied.has(id)) tied.delete(below)
  tied.delete(id)
  const landed = order[order.indexOf(id) + 1]
  if (landed !== undefined) tied.delete(landed)
  return withTied({ ...state, order, selected: id, moved: true }, state.order.filter((r) => tied.has(r)))
}

/** Tie the selected card with the card above it, or untie it. Nothing to do for the top card. */
export function toggleTie(state: RankingState): RankingState | null {
  if (state.selected === null) return null
  const index = state.order.indexOf(state.selected)
  if (index <= 0) return null
  const tied = new Set(state.tied ?? [])
  if (tied.has(state.selected)) tied.delete(state.selected)
  else tied.add(state.selected)
  return withTied({ ...state, moved: true }, state.order.filter((r) => tied.has(r)))
}

/** The ranking as groups best first; a card tied with the one above joins its group. */
export function rankingGroups(state: RankingState): number[][] {
  const tied = new Set(state.tied ?? [])
  const groups: number[][] = []
  state.order.forEach((id, index) => {
    if (index > 0 && tied.has(id)) groups[groups.length - 1].push(id)
    else groups.push([id])
  })
  return groups
}

/** The submit payload: ids best first, or groups best first when anything is tied. */
export function rankingPayload(state: RankingState): { ranking: number[] | number[][] } {
  const groups = rankingGroups(state)
  return groups.some((g) => g.length > 1) ? { ranking: groups } : { ranking: state.order.slice() }
}

/**
 * Apply one key press; returns the new state, or null when the key means nothing here.
 * Digits 1..K select the card now at that position; ArrowUp/ArrowDown move the selected card;
 * `=` (when the project allows ties) ties the selected card with the one above, or unties it.
 */
export function rankingKey(state: RankingState, key: string, allowTie = false): RankingState | null {
  if (/^[1-9]$/.test(key)) {
    const index = Number(key) - 1
    if (index >= state.order.length) return null
    return { ...state, selected: state.order[index] }
  }
  if ((key === 'ArrowUp' || key === 'ArrowDown') && state.selected !== null) {
    const from = state.order.indexOf(state.selected)
    if (from === -1) return null
    return moveCard(state, state.selected, from + (key === 'ArrowUp' ? -1 : 1))
  }
  if (key === '=' && allowTie) return toggleTie(state)
  if (key === 'Escape' && state.selected !== null) return { ...state, selected: null }
  return null
}
