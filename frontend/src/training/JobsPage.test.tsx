import { fireEvent, screen, waitFor, within } from '@testing-library/react'
import { beforeEach, describe, expect, it, vi } from 'vitest'
import { useLocation } from 'react-router'
import { DPO, job, RM, SFT, SFT_MODEL, TINY_GPT } from './fixtures'
import { JobsPage } from './JobsPage'
import { ModelsPage } from './ModelsPage'
import { json, renderWithSession, stubFetch } from './testing/render'

vi.mock('uplot', () => import('./testing/fakeUPlot'))

/** The pages read their filters from the URL; re-render them when it changes, as App does. */
function Routed({ page }: { page: 'jobs' | 'models' }) {
  useLocation()
  return page === 'jobs' ? <JobsPage /> : <ModelsPage />
}

describe('JobsPage', () => {
  beforeEach(() => window.history.replaceState(null, '', '/training'))

  it('lists the jobs, filters them through the URL and asks again while one runs', async () => {
    let running = true
    const calls = stubFetch(({ url }) => {
      if (url === '/api/training-jobs/kinds/') return json(200, [DPO, SFT])
      if (url === '/api/training-jobs/') {
        return json(200, { count: 2, next: null, previous: null, results: [job(2, running ? {} : { status: 'succeeded', progress: { step: 20, max_steps: 20, fraction: 1, eta_seconds: 0 } }), job(1, { kind: 'sft', status: 'failed' })] })
      }
      if (url === '/api/training-jobs/?kind=sft') return json(200, { count: 1, next: null, previous: null, results: [job(1, { kind: 'sft', status: 'failed' })] })
      return undefined
    })
    renderWithSession(<Routed page="jobs" />)
    const table = await screen.findByTestId('jobs-table')
    const row = within(table.querySelector('[data-job="2"]') as HTMLElement)
    expect(row.getByText('7 / 20')).toBeTruthy()
    expect(row.getByText('13 s')).toBeTruthy()
    expect(row.getByRole('link', { name: '#2' }).getAttribute('href')).toBe('/training/2')
    expect(screen.getByRole('status').textContent).toContain('1 queued or running')
    expect(screen.getByRole('link', { name: 'New job' })).toBeTruthy()

    running = false
    await waitFor(() => expect(table.querySelector('[data-job="2"]')?.getAttribute('data-status')).toBe('succeeded'), { timeout: 8000 })
    const polls = calls.filter((c) => c.url === '/api/training-jobs/').length
    expect(polls).toBeGreaterThanOrEqual(2)

    await waitFor(() => expect((screen.getByLabelText('Kind') as HTMLSelectElement).options.length).toBe(3))
    fireEvent.change(screen.getByLabelText('Kind'), { target: { value: 'sft' } })
    expect(window.location.search).toBe('?kind=sft')
    await waitFor(() => expect(document.querySelectorAll('[data-job]').length).toBe(1))
    // Nothing runs any more: no further polls.
    await new Promise((r) => setTimeout(r, 2500))
    expect(calls.filter((c) => c.url === '/api/training-jobs/').length).toBe(polls)
  })

  it('links two selected runs to the comparison', async () => {
    stubFetch(({ url }) => {
      if (url === '/api/training-jobs/kinds/') return json(200, [DPO])
      if (url === '/api/training-jobs/') return json(200, { count: 2, next: null, previous: null, results: [job(2, { status: 'succeeded' }), job(1, { status: 'succeeded' })] })
      return undefined
    })
    renderWithSession(<Routed page="jobs" />, { staff: false })
    fireEvent.click(await screen.findByLabelText('Compare job 2'))
    expect(screen.queryByRole('link', { name: /Compare/ })).toBeNull()
    fireEvent.click(screen.getByLabelText('Compare job 1'))
    expect(screen.getByRole('link', { name: 'Compare 2 runs' }).getAttribute('href')).toBe('/models?compare=1,2#compare')
    expect(screen.queryByRole('link', { name: 'New job' })).toBeNull()
  })
})

describe('ModelsPage', () => {
  beforeEach(() => window.history.replaceState(null, '', '/models?compare=1,2&metric=loss'))

  it('lists models with their lineage and draws the chosen metric of each compared run on one chart', async () => {
    const trained = { ...SFT_MODEL, lineage: { job: { id: 9, kind: 'sft', status: 'succeeded' as const }, snapshot: { id: 4, fingerprint: 'cd'.repeat(32), rules: {} }, project: { id: 2, name: 'Demos' } } }
    stubFetch(({ url }) => {
      if (url === '/api/models/') return json(200, { count: 3, next: null, previous: null, results: [TINY_GPT, trained, RM] })
      if (url === '/api/training-jobs/') return json(200, { count: 2, next: null, previous: null, results: [job(2, { status: 'succeeded' }), job(1, { kind: 'sft', status: 'succeeded' })] })
      if (url === '/api/training-jobs/1/') return json(200, job(1, { kind: 'sft', status: 'succeeded' }))
      if (url === '/api/training-jobs/2/') return json(200, job(2, { status: 'succeeded' }))
      if (url === '/api/training-jobs/1/metrics/') return json(200, { results: [{ step: 1, values: { loss: 2 } }, { step: 2, values: { loss: 1.5 } }], last_step: 2 })
      if (url === '/api/training-jobs/2/metrics/') return json(200, { results: [{ step: 2, values: { loss: 0.7, 'rewards/margins': 0.1 } }, { step: 4, values: { loss: 0.6 } }], last_step: 4 })
      return undefined
    })
    renderWithSession(<Routed page="models" />)
    const models = await screen.findByTestId('models-table')
    const sft = within(models.querySelector('[data-model="2"]') as HTMLElement)
    expect(sft.getByRole('link', { name: 'job #9 (sft, succeeded)' }).getAttribute('href')).toBe('/training/9')
    expect(sft.getByRole('link', { name: 'snapshot #4' }).getAttribute('href')).toBe('/projects/2/snapshots')
    expect(sft.getByRole('link', { name: 'Demos' }).getAttribute('href')).toBe('/projects/2')
    expect(sft.getByText('from tiny-gpt2')).toBeTruthy()
    expect(sft.getByText('124M')).toBeTruthy()

    const compare = within(screen.getByTestId('compare-runs'))
    await waitFor(() => expect(document.querySelector('#compare .fake-uplot')?.getAttribute('data-series')).toBe('2'))
    expect(document.querySelector('#compare .fake-uplot')?.getAttribute('data-points')).toBe('3')
    expect([...(compare.getByLabelText('Metric') as HTMLSelectElement).options].map((o) => o.value)).toEqual(['loss', 'rewards/margins'])
    await waitFor(() => expect(compare.getByTestId('compare-table').textContent).toContain('#1 sft'))
    expect(compare.getByTestId('compare-table').querySelector('[data-run="2"]')?.textContent).toContain('0.6')

    fireEvent.change(compare.getByLabelText('Metric'), { target: { value: 'rewards/margins' } })
    expect(new URLSearchParams(window.location.search).get('metric')).toBe('rewards/margins')
    await waitFor(() => expect(document.querySelector('#compare .fake-uplot')?.getAttribute('data-series')).toBe('1'))
    fireEvent.click(compare.getByLabelText(/#1 sft/))
    expect(new URLSearchParams(window.location.search).get('compare')).toBe('2')
    expect(compare.getByText('Choose at least two jobs.')).toBeTruthy()
  })
})
