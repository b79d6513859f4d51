// Reading a long item by keyboard. The annotation screen scrolls inside its reading panel, not the page, and the
// panel rarely has focus, so the browser's own PageDown/Space/arrows do nothing: the tasks hand the keys they do not
// use to `scrollReading`. Space scrolls too (Shift+Space back), except on a button, link or field, where it presses
// or types: no annotation shortcut uses Space.

const LINE = 48 // px per arrow press, about two lines of text

export type ScrollMove = { by: number } | { to: 'start' | 'end' }

/** What a key does to a panel `pageHeight` px tall, or null when it is not a scrolling key. */
export function scrollMove(key: string, shiftKey: boolean, pageHeight: number): ScrollMove | null {
  const page = Math.max(LINE, Math.round(pageHeight * 0.85)) // keep a few lines of overlap between pages
  switch (key) {
    case 'ArrowDown':
      return { by: LINE }
    case 'ArrowUp':
      return { by: -LINE }
    case 'PageDown':
      return { by: page }
    case 'PageUp':
      return { by: -page }
    case ' ':
      return { by: shiftKey ? -page : page }
    case 'Home':
      return { to: 'start' }
    case 'End':
      return { to: 'end' }
    default:
      return null
  }
}

function canScroll(el: HTMLElement, move: ScrollMove): boolean {
  const down = 'to' in move ? move.to === 'end' : move.by > 0
  return down ? el.scrollTop + el.clientHeight < el.scrollHeight - 1 : el.scrollTop > 0
}

function onControl(target: EventTarget | null): boolean {
  return target instanceof HTMLElement && !!target.closest('button, a, summary, select, textarea, input, [role="button"], [contenteditable="true"]')
}

/** The reading panel of the annotation screen. */
export const readingPanel = () => document.querySelector<HTMLElement>('[data-reading-panel]')

/**
 * Scroll the first of `panels` that can still move that way (an inner box, such as a selected ranking card, before
 * the whole panel); returns whether the key was a scrolling key and was used.
 */
export function scrollReading(event: KeyboardEvent, panels: (HTMLElement | null)[] = [readingPanel()]): boolean {
  if (event.ctrlKey || event.metaKey || event.altKey) return false
  if (onControl(event.target) && (event.key === ' ' || event.target instanceof HTMLTextAreaElement || event.target instanceof HTMLInputElement)) return false
  const outer = panels[panels.length - 1]
  if (!outer) return false
  const move = scrollMove(event.key, event.shiftKey, outer.clientHeight)
  if (!move) return false
  const el = panels.find((p): p is HTMLElement => !!p && canScroll(p, move)) ?? outer
  event.preventDefault()
  if ('to' in move) el.scrollTo({ top: move.to === 'start' ? 0 : el.scrollHeight })
  else el.scrollBy({ top: move.by })
  return true
}

/** Bring a card into view above the sticky decision bar, moving as little as possible. */
export function revealAboveBar(el: Element | null): void {
  if (!(el instanceof HTMLElement) || typeof el.scrollIntoView !== 'function') return
  const bar = document.querySelector<HTMLElement>('.decision-bar')
  el.style.scrollMarginBottom = `${(bar?.offsetHeight ?? 0) + 12}px`
  el.scrollIntoView({ block: 'nearest' })
}
