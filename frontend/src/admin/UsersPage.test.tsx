import { fireEvent, screen, waitFor, within } from '@testing-library/react'
import { afterEach, describe, expect, it, vi } from 'vitest'
import { json, renderWithSession, stubFetch } from '../training/testing/render'
import { UsersPage } from './UsersPage'

const ADMIN = { id: 1, username: 'admin', first_name: '', last_name: '', email: '', is_staff: true, is_active: true }
const ANN = { id: 7, username: 'ann', first_name: 'Ann', last_name: 'Lee', email: 'ann@example.org', is_staff: false, is_active: true }
const MEMBERSHIPS = [{ project: 3, project_name: 'Helpfulness', role: 'annotator' }]

describe('UsersPage', () => {
  afterEach(() => vi.unstubAllGlobals())

  it('edits a user, deactivates them, shows their projects and a generated password once', async () => {
    let ann = { ...ANN }
    const calls = stubFetch(({ method, url, body }) => {
      if (method === 'GET' && url === '/api/users/') return json(200, { count: 2, next: null, previous: null, results: [ADMIN, ann] })
      if (method === 'GET' && url === '/api/users/7/') return json(200, { ...ann, memberships: MEMBERSHIPS })
      if (method === 'PATCH' && url === '/api/users/7/') {
        ann = { ...ann, ...(body as object) }
        return json(200, ann)
      }
      if (method === 'POST' && url === '/api/users/7/deactivate/') {
        ann = { ...ann, is_active: false }
        return json(200, ann)
      }
      if (method === 'POST' && url === '/api/users/7/password/') {
        const generate = (body as { generate?: boolean }).generate
        if (!generate) return json(400, { errors: [{ field: 'password', message: 'This password is too common.' }] })
        return json(200, { password: 'Xq3-one-time-pass' })
      }
      return undefined
    })
    renderWithSession(<UsersPage />)
    fireEvent.click(await screen.findByRole('button', { name: 'Manage ann' }))
    const panel = await screen.findByTestId('user-panel')
    const projects = await within(panel).findByTestId('user-memberships')
    expect(within(projects).getByRole('link', { name: 'Helpfulness' }).getAttribute('href')).toBe('/projects/3')

    fireEvent.change(within(panel).getByLabelText('Email'), { target: { value: 'ann@lab.example' } })
    fireEvent.click(within(panel).getByLabelText('Admin'))
    fireEvent.click(within(panel).getByRole('button', { name: 'Save' }))
    await waitFor(() => expect(calls.some((c) => c.method === 'PATCH')).toBe(true))
    expect(calls.find((c) => c.method === 'PATCH')?.body).toEqual({ first_name: 'Ann', last_name: 'Lee', email: 'ann@lab.example', is_staff: true })

    fireEvent.click(within(panel).getByRole('button', { name: 'Deactivate' }))
    expect(await within(panel).findByRole('button', { name: 'Reactivate' })).toBeTruthy()
    await waitFor(() => expect(within(screen.getByTestId('users-table').querySelector('[data-user="ann"]') as HTMLElement).getByText('deactivated')).toBeTruthy())

    fireEvent.change(within(panel).getByLabelText('New password'), { target: { value: 'password' } })
    fireEvent.click(within(panel).getByRole('button', { name: 'Set password' }))
    expect(await within(panel).findByText('This password is too common.')).toBeTruthy()
    fireEvent.click(within(panel).getByRole('button', { name: 'Generate a one-time password' }))
    expect((await within(panel).findByTestId('generated-password')).textContent).toContain('Xq3-one-time-pass')
  })

  it('offers no way for an admin to deactivate themselves', async () => {
    stubFetch(({ url }) => {
      if (url === '/api/users/') return json(200, [ADMIN, ANN])
      if (url === '/api/users/1/') return json(200, { ...ADMIN, memberships: [] })
      return undefined
    })
    renderWithSession(<UsersPage />)
    fireEvent.click(await screen.findByRole('button', { name: 'Manage admin' }))
    const panel = await screen.findByTestId('user-panel')
    expect(await within(panel).findByText(/You cannot deactivate yourself/)).toBeTruthy()
    expect(within(panel).queryByRole('button', { name: 'Deactivate' })).toBeNull()
    expect(within(panel).getByText('Not a member of any project.')).toBeTruthy()
  })
})
