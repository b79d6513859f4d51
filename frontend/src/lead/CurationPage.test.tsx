import { fireEvent, screen, waitFor } from '@testing-library/react'
import { describe, expect, it, vi } from 'vitest'
import type { CurationPreview, CurationRules, Project } from '../lib/types'
import { CurationEditor } from './CurationPage'
import { RULES_OFF } from './curationRules'
import { renderInApp } from '../testing/render'

const project = (kind: Project['kind'] = 'pairwise'): Project => ({
  id: 4, name: 'Pairs', kind, guidelines: '', annotations_per_item: 3, ranking_size: null, allow_tie: true,
  criteria: [], gold_ratio: 0, lease_seconds: 600, role: 'lead', created_at: '',
})

const json = (status: number, body: unknown) => new Response(JSON.stringify(body), { status })

/** A preview that removes one answer per active number rule, so each request's result is recognisable. */
function previewFor(rules: CurationRules): CurationPreview {
  const removed = Object.values(rules).filter((v) => typeof v === 'number').length
  return {
    initial: { answers: 30, items: 10 },
    preview: [
      { rule: 'exclude_flagged', active: rules.exclude_flagged, removed_answers: rules.exclude_flagged ? 3 : 0, removed_items: 0, remaining_answers: rules.exclude_flagged ? 27 : 30, remaining_items: 10 },
      { rule: 'min_item_agreement', active: rules.min_item_agreement !== null, removed_answers: removed, removed_items: 1, remaining_answers: 30 - removed, remaining_items: 9 },
    ],
    remaining: { answers: 30 - removed, items: 9, consensus: { first: 6, tie: 1, second: 2 } },
  }
}

function fakeApi(put: (body: { rules: CurationRules }) => Response = (body) => json(200, body)) {
  const calls: { method: string; url: string; body: { rules: CurationRules } }[] = []
  vi.stubGlobal('fetch', vi.fn(async (url: string, init: RequestInit = {}) => {
    const body = init.body ? JSON.parse(String(init.body)) : null
    calls.push({ method: init.method ?? 'GET', url, body })
    if (url === '/api/projects/4/curation/preview/') return json(200, previewFor(body.rules))
    if (url === '/api/projects/4/curation/' && init.method === 'PUT') return put(body)
    throw new Error(`unexpected ${init.method} ${url}`)
  }))
  return { previews: () => calls.filter((c) => c.url.endsWith('/preview/')).map((c) => c.body.rules), calls }
}

const remaining = () => screen.getByTestId('curation-preview').querySelector('tr[data-rule=remaining] [data-count=answers]')?.textContent

describe('CurationEditor', () => {
  it('previews the saved rules at once, then the edited ones once typing pauses, empty boxes as null', async () => {
    const api = fakeApi()
    renderInApp(<CurationEditor project={project()} saved={{ min_answers_per_item: 2 }} />)
    await waitFor(() => expect(remaining()).toBe('29'))
    expect(api.previews()).toEqual([{ ...RULES_OFF, min_answers_per_item: 2 }])
    expect((screen.getByLabelText('Answers per item') as HTMLInputElement).value).toBe('2')

    const agreement = screen.getByLabelText('Item agreement')
    fireEvent.change(agreement, { target: { value: '0.' } })
    fireEvent.change(agreement, { target: { value: '0.6' } })
    await waitFor(() => expect(remaining()).toBe('28'))
    await new Promise((r) => setTimeout(r, 450))
    expect(api.previews()).toEqual([
      { ...RULES_OFF, min_answers_per_item: 2 },
      { ...RULES_OFF, min_answers_per_item: 2, min_item_agreement: 0.6 }, // one request for both keystrokes
    ])
    expect(screen.getByText('unsaved changes')).toBeTruthy()

    fireEvent.change(screen.getByLabelText('Answers per item'), { target: { value: '' } })
    await waitFor(() => expect(remaining()).toBe('29'))
    expect(api.previews()[2]).toEqual({ ...RULES_OFF, min_item_agreement: 0.6 })
  })

  it('names a box with an unacceptable value beside it, asks no preview and cannot save', async () => {
    const api = fakeApi()
    renderInApp(<CurationEditor project={project()} saved={{}} />)
    await waitFor(() => expect(api.previews()).toHaveLength(1))
    fireEvent.change(screen.getByLabelText('Item agreement'), { target: { value: '2' } })
    expect((await screen.findByRole('alert')).textContent).toBe('Enter a number from 0 to 1.')
    expect(screen.getByLabelText('Item agreement').getAttribute('aria-invalid')).toBe('true')
    expect((screen.getByRole('button', { name: 'Save rules' }) as HTMLButtonElement).disabled).toBe(true)
    await new Promise((r) => setTimeout(r, 500))
    expect(api.previews()).toHaveLength(1)
  })

  it('saves with PUT and shows a field error from the server next to its box', async () => {
    const api = fakeApi(() => json(400, { errors: [{ field: 'min_abs_strength', message: 'too strict for this project' }] }))
    renderInApp(<CurationEditor project={project()} saved={{}} />)
    fireEvent.change(screen.getByLabelText('Consensus strength'), { target: { value: '2.5' } })
    fireEvent.click(screen.getByLabelText('Flagged answers'))
    fireEvent.click(screen.getByRole('button', { name: 'Save rules' }))
    const error = await screen.findByText('too strict for this project')
    expect(error.id).toBe('rule-min_abs_strength-error')
    const put = api.calls.find((c) => c.method === 'PUT')!
    expect(put.body).toEqual({ rules: { ...RULES_OFF, min_abs_strength: 2.5, exclude_flagged: true } })
  })

  it('after a save the rules count as saved', async () => {
    fakeApi()
    renderInApp(<CurationEditor project={project()} saved={{}} />)
    fireEvent.change(screen.getByLabelText('Tied consensus'), { target: { value: 'drop' } })
    expect(screen.getByText('unsaved changes')).toBeTruthy()
    fireEvent.click(screen.getByRole('button', { name: 'Save rules' }))
    await waitFor(() => expect(screen.queryByText('unsaved changes')).toBeNull())
    expect((screen.getByRole('button', { name: 'Save rules' }) as HTMLButtonElement).disabled).toBe(true)
  })

  it('shows the consensus of what is left', async () => {
    fakeApi()
    renderInApp(<CurationEditor project={project()} saved={{}} />)
    const consensus = await screen.findByTestId('consensus')
    expect(consensus.querySelector('[data-consensus=first]')?.textContent).toBe('6')
    expect(consensus.querySelector('[data-consensus=tie]')?.textContent).toBe('1')
    expect(consensus.querySelector('[data-consensus=second]')?.textContent).toBe('2')
  })

  it('says curation applies to comparisons only when the preview has no initial counts', async () => {
    vi.stubGlobal('fetch', vi.fn(async () => json(200, { kind: 'demonstration', initial: null, preview: [], remaining: null })))
    renderInApp(<CurationEditor project={project('demonstration')} saved={{ exclude_flagged: true }} />)
    expect(await screen.findByText(/Curation applies to comparisons only/)).toBeTruthy()
    expect(screen.queryByTestId('curation-preview')).toBeNull()
    expect((screen.getByRole('checkbox') as HTMLInputElement).checked).toBe(true)
    expect(screen.getAllByRole('checkbox')).toHaveLength(1)
  })
})
