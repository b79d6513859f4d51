import { fireEvent, screen, waitFor } from '@testing-library/react'
import { describe, expect, it, vi } from 'vitest'
import { SessionContext } from '../lib/auth'
import type { Project } from '../lib/types'
import type { MyAnswer } from './answerSummary'
import { MyAnswersPage } from './MyAnswersPage'
import { renderInApp } from '../testing/render'

const project: Project = {
  id: 1, name: 'Pairs', kind: 'pairwise', guidelines: '', annotations_per_item: 2, ranking_size: null, allow_tie: true,
  criteria: [], gold_ratio: 0, lease_seconds: 600, role: 'annotator', created_at: '',
}

const answer = (id: number, editable: boolean): MyAnswer => ({
  id, project: 1, item: id, preference: -1, both_bad: false, ranking: null, text: '', rationale: 'because', flags: ['pii'],
  criteria: {}, confidence: null, time_spent_ms: 1200, shown_order: [id * 10, id * 10 + 1], stored_order: [id * 10, id * 10 + 1],
  prompt: `Question ${id}`, editable, created_at: '2026-01-01T00:00:00Z', updated_at: '2026-01-01T00:00:00Z',
})

const json = (body: unknown, status = 200) => new Response(JSON.stringify(body), { status })

function fakeApi() {
  const calls: { method: string; url: string; body: unknown }[] = []
  vi.stubGlobal('fetch', vi.fn(async (url: string, init: RequestInit = {}) => {
    const method = init.method ?? 'GET'
    calls.push({ method, url, body: init.body ? JSON.parse(String(init.body)) : null })
    if (url === '/api/projects/1/') return json(project)
    if (url.startsWith('/api/me/annotations/?')) return json({ results: [answer(1, true), answer(2, false)], next: null })
    if (url.startsWith('/api/me/skipped/?')) return json({ results: [{ assignment: 9, item: 3, reason: 'unsure', skipped_at: '2026-01-01T00:00:00Z', prompt: 'Question 3' }] })
    if (url === '/api/me/annotations/1/' && method === 'GET') {
      return json({ ...answer(1, true), shown: { id: 1, conversation: [{ role: 'user', content: 'Question 1' }], responses: [{ id: 10, text: 'ten' }, { id: 11, text: 'eleven' }] } })
    }
    if (url === '/api/me/annotations/1/' && method === 'PATCH') return json(answer(1, true))
    if (url === '/api/assignments/9/unskip/') return json({ assignment: 9, status: 'leased' })
    throw new Error(`unexpected ${method} ${url}`)
  }))
  return calls
}

function renderPage() {
  renderInApp(
    <SessionContext.Provider value={{ me: { id: 1, username: 'ann', is_staff: false, projects: [] }, refresh: vi.fn(async () => {}), logout: vi.fn() }}>
      <MyAnswersPage projectId={1} />
    </SessionContext.Provider>,
  )
}

describe('MyAnswersPage', () => {
  it('follows the next page of answers on request', async () => {
    fakeApi()
    const first = { results: [answer(1, true)], next: 'http://testserver/api/me/annotations/?page=2&project=1' }
    const fetchMock = vi.mocked(fetch)
    const fallback = fetchMock.getMockImplementation()!
    fetchMock.mockImplementation(async (url, init) => {
      if (String(url) === '/api/me/annotations/?page=2&project=1') return json({ results: [answer(2, false)], next: null })
      if (String(url).startsWith('/api/me/annotations/?')) return json(first)
      return fallback(url, init)
    })
    renderPage()
    await screen.findByText('Question 1')
    expect(screen.getByRole('heading', { name: 'Answers (1+)' })).toBeTruthy()
    expect(screen.queryByText('Question 2')).toBeNull()
    fireEvent.click(screen.getByRole('button', { name: 'Show older answers' }))
    await screen.findByText('Question 2')
    expect(screen.getByRole('heading', { name: 'Answers (2)' })).toBeTruthy()
    expect(screen.queryByRole('button', { name: 'Show older answers' })).toBeNull()
  })

  it('lists answers in the letters shown, changeable until the item is complete', async () => {
    fakeApi()
    renderPage()
    await screen.findByText('Question 2')
    const rows = screen.getByTestId('answer-list').querySelectorAll('li')
    expect(rows[0].textContent).toContain('A slightly better')
    expect(rows[0].querySelector('button')?.textContent).toBe('Change')
    expect(rows[1].querySelector('button')).toBeNull()
    expect(rows[1].textContent).toContain('Final')
  })

  it('changes an answer with PATCH, keeping the flags, rationale and time of the stored one', async () => {
    const calls = fakeApi()
    renderPage()
    fireEvent.click(await screen.findByRole('button', { name: 'Change answer 1' }))
    await screen.findByText('eleven')
    expect(screen.getByTestId('stored-answer').textContent).toBe('A slightly better')
    fireEvent.click(screen.getByRole('radio', { name: /B much better/ }))
    fireEvent.click(screen.getByRole('button', { name: /^Submit/ }))
    await waitFor(() => expect(calls.some((c) => c.method === 'PATCH')).toBe(true))
    expect(calls.find((c) => c.method === 'PATCH')!.body).toEqual({ chosen: 11, strength: 3, flags: ['pii'], rationale: 'because', time_spent_ms: 1200 })
    await screen.findByTestId('answer-list')
  })

  it('takes a skipped item back and returns to annotating it', async () => {
    const calls = fakeApi()
    renderPage()
    fireEvent.click(await screen.findByRole('button', { name: 'Answer it now' }))
    await waitFor(() => expect(window.location.pathname).toBe('/projects/1/annotate'))
    expect(calls.some((c) => c.method === 'POST' && c.url === '/api/assignments/9/unskip/')).toBe(true)
  })
})
