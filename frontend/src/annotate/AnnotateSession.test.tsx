import { act, fireEvent, screen, waitFor } from '@testing-library/react'
import { beforeEach, describe, expect, it, vi } from 'vitest'
import type { Project } from '../lib/types'
import { draftKey, loadDraft } from './drafts'
import { answerQueue } from './queue'
import { json, assignment, pairsProject, renderPage } from './testSupport'

const base = pairsProject

/** A fake server: next hands out assignments 1, 2, 3…, the one held until it is answered or skipped; submit and skip
 *  answer `answer()`, 201 {id} by default. */
function fakeApi(project: Project, answer: () => Response = () => json(201, { id: 1 })) {
  let nextId = 0
  let held = false
  const calls: { url: string; body: Record<string, unknown> | null }[] = []
  vi.stubGlobal('fetch', vi.fn(async (url: string, init: RequestInit = {}) => {
    calls.push({ url, body: init.body ? JSON.parse(String(init.body)) : null })
    if (url === '/api/projects/1/') return json(200, project)
    if (url === '/api/projects/1/next/') {
      if (!held) nextId++
      held = true
      return json(200, assignment(nextId))
    }
    if (url.endsWith('/submit/') || url.endsWith('/skip/')) {
      const response = answer()
      held = response.status >= 300
      return response
    }
    throw new Error(`unexpected ${url}`)
  }))
  return { sent: (verb: string) => calls.filter((c) => c.url.endsWith(`/${verb}/`)) }
}

const shownAssignment = () => document.querySelector('[data-assignment]')?.getAttribute('data-assignment')
const press = (key: string, init: KeyboardEventInit = {}) => act(() => void fireEvent.keyDown(document.body, { key, ...init }))
const choose = (key: string, label: string) =>
  waitFor(() => {
    press(key)
    expect(document.querySelector('.decision-summary')?.textContent).toBe(label)
  })

describe('AnnotatePage', () => {
  beforeEach(() => answerQueue.start('ann'))

  it('saves one answer for a held Enter, and a held S opens no skip behind it', async () => {
    const api = fakeApi(base)
    renderPage()
    await waitFor(() => expect(shownAssignment()).toBe('1'))
    await choose('3', 'A slightly better')
    press('Enter')
    press('Enter', { repeat: true })
    press('Enter', { repeat: true })
    await waitFor(() => expect(shownAssignment()).toBe('2'))
    press('Enter', { repeat: true }) // still held as the next item shows
    press('s', { repeat: true })
    await new Promise((r) => setTimeout(r, 50))
    expect(api.sent('submit')).toHaveLength(1)
    expect(screen.queryByRole('dialog')).toBeNull()
  })

  it('shows the guidelines before the first item, starts on Enter, and not again once read', async () => {
    fakeApi({ ...base, guidelines: '## Judge by *correctness*' })
    const first = renderPage()
    await screen.findByTestId('guidelines-intro')
    expect(screen.getByText('correctness')).toBeTruthy()
    expect(document.querySelector('.task')).toBeNull()
    press('3') // the item's keys are off while the guidelines are up
    press('Enter')
    await waitFor(() => expect(shownAssignment()).toBe('1'))
    expect(document.querySelector('.decision-summary')?.textContent).toBe('No choice yet')
    first.unmount()
    renderPage()
    await waitFor(() => expect(shownAssignment()).toBe('1')) // the lease held, and no guidelines first this time
    expect(screen.queryByTestId('guidelines-intro')).toBeNull()
  })

  it('says so after a gold answer that missed, where the server reports it', async () => {
    fakeApi(base, () => json(201, { id: 1, gold_feedback: { matched: false } }))
    renderPage()
    await waitFor(() => expect(shownAssignment()).toBe('1'))
    await choose('1', 'A much better')
    press('Enter')
    await screen.findByText(/did not match it/)
  })

  it('adds flags and a note to the answer, and can flag-and-skip an item that cannot be answered', async () => {
    const api = fakeApi(base)
    renderPage()
    await waitFor(() => expect(shownAssignment()).toBe('1'))
    press('f')
    const dialog = await screen.findByRole('dialog')
    fireEvent.click(dialog.querySelector('[data-flag="pii"]')!)
    fireEvent.change(dialog.querySelector('textarea')!, { target: { value: 'a phone number' } })
    fireEvent.click(screen.getByRole('button', { name: 'Flag my answer' }))
    expect(screen.getByTestId('flag-button').textContent).toContain('Flagged: pii')
    await choose('7', 'B much better')
    press('Enter')
    await waitFor(() => expect(shownAssignment()).toBe('2'))
    expect(api.sent('submit')[0].body).toMatchObject({ chosen: 11, strength: 3, flags: ['pii'], rationale: 'Flag note: a phone number' })
    expect(screen.getByTestId('flag-button').textContent).toMatch(/^Flag/) // the next item starts unflagged
    expect(screen.getByTestId('flag-button').textContent).not.toContain('Flagged')

    press('f') // by keyboard: the first flag has focus, Space ticks it, Enter keeps it
    const unsafe = (await screen.findByRole('dialog')).querySelector<HTMLInputElement>('[data-flag="unsafe"]')!
    await waitFor(() => expect(document.activeElement).toBe(unsafe))
    fireEvent.click(unsafe)
    fireEvent.keyDown(unsafe, { key: 'Enter' })
    await waitFor(() => expect(screen.getByTestId('flag-button').textContent).toContain('Flagged: unsafe'))

    press('f')
    fireEvent.click((await screen.findByRole('dialog')).querySelector('[data-flag="unsafe"]')!) // untick
    fireEvent.click(screen.getByRole('dialog').querySelector('[data-flag="broken"]')!)
    fireEvent.click(screen.getByRole('button', { name: 'Flag and skip' }))
    await waitFor(() => expect(shownAssignment()).toBe('3'))
    expect(api.sent('skip')[0].body).toEqual({ reason: 'Flagged broken' })
  })
})

describe('DemonstrationTask drafts and minimum length', () => {
  beforeEach(() => answerQueue.start('ann'))
  const demo = { ...base, kind: 'demonstration' as const, min_demonstration_chars: 10 }

  it('keeps a draft across a reload and drops it once the answer is stored', async () => {
    const api = fakeApi(demo)
    const first = renderPage()
    await waitFor(() => expect(shownAssignment()).toBe('1'))
    fireEvent.change(screen.getByPlaceholderText(/ideal assistant reply/), { target: { value: 'A careful answer' } })
    first.unmount() // a reload
    renderPage()
    await waitFor(() => expect(shownAssignment()).toBe('1'))
    expect((screen.getByPlaceholderText(/ideal assistant reply/) as HTMLTextAreaElement).value).toBe('A careful answer')
    press('Enter', { ctrlKey: true })
    await waitFor(() => expect(shownAssignment()).toBe('2'))
    expect(api.sent('submit')[0].body).toMatchObject({ text: 'A careful answer' })
    expect(loadDraft(draftKey('ann', 1, 1))).toBe('')
  })

  it('refuses a text under the minimum before sending it, and shows the count', async () => {
    const api = fakeApi(demo)
    renderPage()
    await waitFor(() => expect(shownAssignment()).toBe('1'))
    fireEvent.change(screen.getByPlaceholderText(/ideal assistant reply/), { target: { value: '  short  ' } })
    expect(screen.getByTestId('demo-hint').textContent).toBe('5 / 10 characters at least')
    press('Enter', { ctrlKey: true })
    expect(screen.getByTestId('demo-hint').textContent).toBe('Write at least 10 characters (5 so far).')
    expect(api.sent('submit')).toHaveLength(0)
    expect(loadDraft(draftKey('ann', 1, 1))).toBe('  short  ') // a refused text is still a draft
  })
})
