// Shared by the annotation page tests: a project, items as `next` hands them out, and the page in a session.
import { vi } from 'vitest'
import { Notices } from '../components/Banners'
import { SessionContext } from '../lib/auth'
import type { NextAssignment, Project } from '../lib/types'
import { AnnotatePage } from './AnnotatePage'
import { renderInApp } from '../testing/render'

export const pairsProject: Project = {
  id: 1, name: 'Pairs', kind: 'pairwise', guidelines: '', annotations_per_item: 1, ranking_size: null,
  allow_tie: false, criteria: [], gold_ratio: 0, lease_seconds: 600, role: 'annotator', created_at: '',
  my_progress: { done: 0, skipped: 0, remaining: 5 },
}

/** Assignment n: item n with responses 10n and 10n+1, shown in that order. */
export const assignment = (n: number): NextAssignment => ({
  assignment: n,
  expires_at: '',
  item: { id: n, conversation: [{ role: 'user', content: `prompt ${n}` }], responses: [{ id: 10 * n, text: 'a' }, { id: 10 * n + 1, text: 'b' }] },
})

export const json = (status: number, body: unknown) => new Response(body === null ? null : JSON.stringify(body), { status })

/** The annotation page of project 1 for annotator `ann`, with the notices it raises. */
export function renderPage() {
  return renderInApp(
    <SessionContext.Provider value={{ me: { id: 1, username: 'ann', is_staff: false, projects: [] }, refresh: vi.fn(async () => {}), logout: vi.fn() }}>
      <Notices />
      <AnnotatePage projectId={1} />
    </SessionContext.Provider>,
  )
}
