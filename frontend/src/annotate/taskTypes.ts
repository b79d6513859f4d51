import type { FieldError } from '../lib/api'
import type { NextAssignment, Project } from '../lib/types'

export interface TaskProps {
  project: Project
  assignment: NextAssignment
  onSubmit: (body: Record<string, unknown>) => void
  active: boolean // hotkeys on: no dialog open, no submit in flight
  errors: FieldError[]
}

/** A key held down repeats its keydown; a held submit key must save one answer, not one per repeat. */
export const isHeld = (event: KeyboardEvent): boolean => event.repeat

/** Enter submits unless focus is on a control where Enter means something else. */
export function enterSubmits(target: EventTarget | null): boolean {
  if (!(target instanceof HTMLElement)) return true
  if (target.closest('[data-enter-submits]')) return true
  return !target.closest('button, a, summary, select, textarea, input, [role="button"]')
}
