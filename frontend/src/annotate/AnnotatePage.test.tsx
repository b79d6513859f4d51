import { act, fireEvent, screen, waitFor } from '@testing-library/react'
import { beforeEach, describe, expect, it, vi } from 'vitest'
import { answerQueue } from './queue'
import { assignment, json, pairsProject, renderPage } from './testSupport'

const project = pairsProject

/** A fake API: next hands out assignments 1, 2, 3…; submit answers from `submits` in order. */
function fakeApi(submits: (() => Response)[]) {
  let nextId = 0
  const calls: { url: string; body: unknown; key: string | null }[] = []
  vi.stubGlobal('fetch', vi.fn(async (url: string, init: RequestInit = {}) => {
    const headers = (init.headers ?? {}) as Record<string, string>
    calls.push({ url, body: init.body ? JSON.parse(String(init.body)) : null, key: headers['Idempotency-Key'] ?? null })
    if (url === '/api/projects/1/') return json(200, project)
    if (url === '/api/projects/1/next/') return json(200, assignment(++nextId))
    if (url.endsWith('/submit/')) return submits.shift()!()
    throw new Error(`unexpected ${url}`)
  }))
  return calls
}

const shownAssignment = () => document.querySelector('[data-assignment]')?.getAttribute('data-assignment')
const press = (key: string) => act(() => void fireEvent.keyDown(document.body, { key }))
const decision = () => document.querySelector('.decision-summary')?.textContent

/** Press a scale key until the page shows the choice. The task listens for keys from an effect, which can run
 *  after the item (or a rejected answer's errors) is already on screen, so on a loaded machine a single press may
 *  land before anyone listens. A scale key is safe to repeat; Enter, pressed once this one took, is heard. */
const choose = (key: string, label: string) =>
  waitFor(() => {
    press(key)
    expect(decision()).toBe(label)
  })

describe('AnnotatePage submit outcomes', () => {
  beforeEach(() => answerQueue.start('ann'))

  it('keeps the item and shows the field errors on 400, then moves on once the answer is accepted', async () => {
    const calls = fakeApi([
      () => json(400, { errors: [{ field: 'strength', message: 'must be 1, 2 or 3' }] }),
      () => json(201, { id: 7 }),
    ])
    renderPage()
    await waitFor(() => expect(shownAssignment()).toBe('1'))
    await choose('3', 'A slightly better')
    press('Enter')
    await screen.findByText('must be 1, 2 or 3')
    expect(shownAssignment()).toBe('1')
    await choose('5', 'B slightly better')
    press('Enter')
    await waitFor(() => expect(shownAssignment()).toBe('2'))
    const submits = calls.filter((c) => c.url.endsWith('/submit/'))
    expect(submits.map((c) => c.body)).toMatchObject([{ chosen: 10, strength: 1 }, { chosen: 11, strength: 1 }])
    expect(submits[0].key).not.toBe(submits[1].key) // a corrected answer is a new answer
    expect(screen.getByTestId('progress-text').textContent).toBe('1 done · 4 left')
  })

  it('tells the annotator the slot was lost on 409 and shows the next item', async () => {
    fakeApi([() => json(409, { detail: 'lease expired', errors: [{ field: null, message: 'lease expired' }] })])
    renderPage()
    await waitFor(() => expect(shownAssignment()).toBe('1'))
    press('1')
    press('Enter')
    await screen.findByText(/ran out and it went to someone else/)
    await waitFor(() => expect(shownAssignment()).toBe('2'))
    expect(screen.getByTestId('progress-text').textContent).toBe('0 done · 5 left')
  })

  it('sends the time on the item with the answer', async () => {
    const calls = fakeApi([() => json(201, { id: 1 })])
    renderPage()
    await waitFor(() => expect(shownAssignment()).toBe('1'))
    await new Promise((r) => setTimeout(r, 30))
    press('7')
    press('Enter')
    await waitFor(() => expect(shownAssignment()).toBe('2'))
    const body = calls.find((c) => c.url.endsWith('/submit/'))!.body as { time_spent_ms: number }
    expect(body.time_spent_ms).toBeGreaterThanOrEqual(25)
  })
})
