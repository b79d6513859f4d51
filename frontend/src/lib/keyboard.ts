// Keyboard shortcuts: which key presses belong to the page rather than to a field being typed in.
import { useLayoutEffect, useRef } from 'react'

export function isTypingTarget(target: EventTarget | null): boolean {
  if (!(target instanceof HTMLElement)) return false
  if (target.isContentEditable) return true
  if (target instanceof HTMLTextAreaElement || target instanceof HTMLSelectElement) return true
  if (target instanceof HTMLInputElement) {
    return !['checkbox', 'radio', 'button', 'submit', 'reset', 'range', 'color', 'file'].includes(target.type)
  }
  return false
}

/** A key press meant for the page's shortcuts: not typed into a field, no Ctrl/Meta/Alt held. */
export function isPlainKey(event: KeyboardEvent): boolean {
  return !(isTypingTarget(event.target) || event.ctrlKey || event.metaKey || event.altKey)
}

/** Window keydown listener that always sees the latest handler. Attached as the screen commits (a layout effect,
 *  not a passive one that runs after paint), so a key pressed the moment a screen appears is not lost. */
export function useKeydown(handler: (event: KeyboardEvent) => void, enabled = true): void {
  const ref = useRef(handler)
  ref.current = handler
  useLayoutEffect(() => {
    if (!enabled) return
    const listener = (event: KeyboardEvent) => ref.current(event)
    window.addEventListener('keydown', listener)
    return () => window.removeEventListener('keydown', listener)
  }, [enabled])
}
