import { screen } from '@testing-library/react'
import { describe, expect, it, vi } from 'vitest'
import { SessionContext } from '../lib/auth'
import type { Me } from '../lib/types'
import { LeadOnly } from './LeadOnly'
import { renderInApp } from '../testing/render'

function renderAs(me: Me) {
  renderInApp(
    <SessionContext.Provider value={{ me, refresh: vi.fn(async () => {}), logout: vi.fn() }}>
      <LeadOnly projectId={3}>
        <nav aria-label="Project sections">lead tabs</nav>
      </LeadOnly>
    </SessionContext.Provider>,
  )
}

describe('LeadOnly', () => {
  it('shows an annotator of the project the way back to annotating, not the lead screen', () => {
    renderAs({ id: 1, username: 'ann', is_staff: false, projects: [{ id: 3, name: 'P', role: 'annotator' }] })
    expect(screen.queryByText('lead tabs')).toBeNull()
    expect(screen.getByRole('link', { name: 'Back to annotating' }).getAttribute('href')).toBe('/projects/3/annotate')
  })

  it('shows the screen to the project’s leads and to admins', () => {
    renderAs({ id: 2, username: 'lead', is_staff: false, projects: [{ id: 3, name: 'P', role: 'lead' }] })
    expect(screen.getByText('lead tabs')).toBeTruthy()
    renderAs({ id: 3, username: 'root', is_staff: true, projects: [] })
    expect(screen.getAllByText('lead tabs')).toHaveLength(2)
  })
})
