import { screen } from '@testing-library/react'
import { afterEach, describe, expect, it, vi } from 'vitest'
import { SessionContext } from '../lib/auth'
import type { Project, Role } from '../lib/types'
import { LeadFrame } from './ProjectHeader'
import { renderInApp } from '../testing/render'

const project = (role: Role | null): Project => ({
  id: 4, name: 'Pairs', kind: 'pairwise', guidelines: '', annotations_per_item: 2, ranking_size: null, allow_tie: true,
  criteria: [], gold_ratio: 0, lease_seconds: 600, role, created_at: '',
})

function renderFrame(role: Role | null, isStaff: boolean) {
  vi.stubGlobal('fetch', vi.fn(async () => new Response(JSON.stringify(project(role)), { status: 200 })))
  renderInApp(
    <SessionContext.Provider value={{ me: { id: 1, username: 'ada', is_staff: isStaff, projects: [] }, refresh: vi.fn(async () => {}), logout: vi.fn() }}>
      <LeadFrame projectId={4}>{() => <p>body</p>}</LeadFrame>
    </SessionContext.Provider>,
  )
}

afterEach(() => vi.unstubAllGlobals())

describe('LeadFrame', () => {
  it('offers an admin who is no member the Annotate tab, as their project card does', async () => {
    renderFrame(null, true)
    await screen.findByText('body')
    expect(screen.getByText('Annotate →')).toBeTruthy()
    expect(screen.getByText(/admin view/)).toBeTruthy()
  })

  it('offers a lead the Annotate tab too', async () => {
    renderFrame('lead', false)
    await screen.findByText('body')
    expect(screen.getByText('Annotate →')).toBeTruthy()
  })
})
