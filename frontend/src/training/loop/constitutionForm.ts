// A new constitution as typed: a name and principles, each a critique request and a revision
// request. Checked here so the server's errors are the rare ones.
import type { FieldError } from '../../lib/api'
import type { Principle } from './types'

export interface ConstitutionDraft {
  name: string
  principles: Principle[]
}

export const EMPTY_PRINCIPLE: Principle = { critique: '', revision: '' }
export const EMPTY_DRAFT: ConstitutionDraft = { name: '', principles: [EMPTY_PRINCIPLE] }

/** The body to POST (text trimmed), or the errors by field: `name`, `principles`, `principles.<i>.critique`. */
export function constitutionBody(draft: ConstitutionDraft): { body: ConstitutionDraft | null; errors: FieldError[] } {
  const errors: FieldError[] = []
  const name = draft.name.trim()
  if (!name) errors.push({ field: 'name', message: 'Name the constitution.' })
  const principles = draft.principles.map((p) => ({ critique: p.critique.trim(), revision: p.revision.trim() }))
  if (principles.length === 0) errors.push({ field: 'principles', message: 'Add at least one principle.' })
  principles.forEach((p, i) => {
    if (!p.critique) errors.push({ field: `principles.${i}.critique`, message: 'Ask for a critique.' })
    if (!p.revision) errors.push({ field: `principles.${i}.revision`, message: 'Ask for a revision.' })
  })
  return errors.length ? { body: null, errors } : { body: { name, principles }, errors }
}

/** `principles[0].critique` and `principles.0.critique` name the same box. */
export function normaliseField(field: string | undefined): string | undefined {
  return field?.replace(/\[(\d+)\]/g, '.$1')
}
