// The lead's item filters: which URL parameters they are, the API query they make, and the links that keep them,
// so that the item page's previous/next walk the same list the table shows.
import type { FieldError } from '../lib/api'
import { withQuery } from '../lib/paths'

/** Filters with one value each, as the API names them (and the URL of the items page keeps them). */
export const SINGLE_FILTERS = ['q', 'status', 'is_gold', 'flagged', 'adjudicated', 'annotator', 'model', 'min_agreement', 'max_agreement'] as const
export type SingleFilter = (typeof SINGLE_FILTERS)[number]

export const STATUS_LABELS: Record<string, string> = {
  open: 'Open',
  in_progress: 'In progress',
  needs_annotators: 'Needs more annotators',
  complete: 'Complete',
}

/** The filter part of a URL's query (no page, nothing unknown, no empty values), in a stable order. */
export function filterQuery(search: URLSearchParams): URLSearchParams {
  const out = new URLSearchParams()
  for (const key of SINGLE_FILTERS) {
    const value = search.get(key)
    if (value) out.set(key, value)
  }
  for (const pair of search.getAll('metadata')) if (pair) out.append('metadata', pair)
  return out
}

/** The item page of one item, carrying the list's filters. */
export function itemHref(projectId: number, itemId: number, search: URLSearchParams): string {
  return withQuery(`/projects/${projectId}/items/${itemId}`, filterQuery(search))
}

/** The items list, back with the same filters. */
export function listHref(projectId: number, search: URLSearchParams): string {
  return withQuery(`/projects/${projectId}/items`, filterQuery(search))
}

/** Metadata filters as typed in one box, `key=value` separated by commas; an error for a pair without `=`. */
export function parseMetadata(text: string): { pairs: string[]; error: string | null } {
  const pairs = text.split(',').map((p) => p.trim()).filter(Boolean)
  const bad = pairs.find((p) => !/^[\w.-]+=/.test(p))
  return { pairs, error: bad ? `“${bad}” is not key=value (for example source=forum).` : null }
}

/** Server errors for the filter boxes: by parameter, the rest general. */
export function filterErrors(errors: FieldError[]): { byField: Record<string, string>; general: string[] } {
  const byField: Record<string, string> = {}
  const general: string[] = []
  for (const e of errors) {
    if (e.field && (SINGLE_FILTERS.includes(e.field as SingleFilter) || e.field === 'metadata')) byField[e.field] = e.message
    else general.push(e.message)
  }
  return { byField, general }
}
