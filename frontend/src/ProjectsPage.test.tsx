import { screen, waitFor } from '@testing-library/react'
import { describe, expect, it, vi } from 'vitest'
import { SessionContext } from './lib/auth'
import type { Me, Project } from './lib/types'
import { ProjectsPage } from './ProjectsPage'
import { renderInApp } from './testing/render'

const project = (role: Project['role']): Project => ({
  id: 4, name: 'Pairs', kind: 'pairwise', guidelines: '', annotations_per_item: 1, ranking_size: null, allow_tie: true,
  criteria: [], gold_ratio: 0, lease_seconds: 600, role, created_at: '', my_progress: { done: 0, skipped: 0, remaining: 3 },
})

function renderAs(me: Me, role: Project['role']) {
  vi.stubGlobal('fetch', vi.fn(async () => new Response(JSON.stringify([project(role)]), { status: 200 })))
  renderInApp(
    <SessionContext.Provider value={{ me, refresh: vi.fn(async () => {}), logout: vi.fn() }}>
      <ProjectsPage />
    </SessionContext.Provider>,
  )
}

describe('ProjectsPage roles', () => {
  it('tells an admin they are an admin and lets them start annotating and open the dashboard', async () => {
    renderAs({ id: 1, username: 'root', is_staff: true, projects: [] }, 'admin')
    await waitFor(() => expect(screen.getByTestId('role').textContent).toBe('You are an admin'))
    expect(screen.getByRole('link', { name: 'Annotate Pairs' })).toBeTruthy()
    expect(screen.getByRole('link', { name: 'Dashboard' })).toBeTruthy()
  })

  it('shows an annotator no dashboard, which the server would refuse them', async () => {
    renderAs({ id: 2, username: 'ann', is_staff: false, projects: [{ id: 4, name: 'Pairs', role: 'annotator' }] }, 'annotator')
    await waitFor(() => expect(screen.getByTestId('role').textContent).toBe('You are an annotator'))
    expect(screen.getByRole('link', { name: 'Annotate Pairs' })).toBeTruthy()
    expect(screen.queryByRole('link', { name: 'Dashboard' })).toBeNull()
    expect(screen.queryByRole('link', { name: 'New project' })).toBeNull()
  })
})
