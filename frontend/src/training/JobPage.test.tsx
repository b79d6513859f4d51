import { fireEvent, screen, waitFor } from '@testing-library/react'
import { describe, expect, it, vi } from 'vitest'
import { job } from './fixtures'
import { JobPage } from './JobPage'
import { json, renderWithSession, stubFetch } from './testing/render'
import FakeUPlot from './testing/fakeUPlot'

vi.mock('uplot', () => import('./testing/fakeUPlot'))

const row = (step: number, values: Record<string, number>) => ({ step, time: '2026-01-01T00:00:00Z', values })
const LOGGED = [
  row(1, { loss: 0.7, learning_rate: 5e-5, 'rewards/margins': 0 }),
  row(2, { loss: 0.68, learning_rate: 4e-5, 'rewards/margins': 0.02 }),
  row(3, { loss: 0.66, learning_rate: 3e-5, 'rewards/margins': 0.05, eval_loss: 0.67 }),
  row(4, { loss: 0.6, learning_rate: 2e-5, 'rewards/margins': 0.1 }),
]

const points = (metric: string) => document.querySelector(`[data-metric="${metric}"] .fake-uplot`)?.getAttribute('data-points')

describe('JobPage', () => {
  it('draws a chart per metric and appends the steps logged after the last one held until the job ends', async () => {
    let finished = false
    const calls = stubFetch(({ url }) => {
      if (url === '/api/training-jobs/12/') {
        return json(200, finished
          ? job(12, { status: 'succeeded', progress: { step: 4, max_steps: 4, fraction: 1, eta_seconds: 0 }, finished_at: '2026-01-01T00:00:09Z', can_cancel: false, output_model: { id: 9, name: 'dpo-12', kind: 'policy' }, evaluation: { eval_loss: 0.61, reward_accuracy: 0.75 }, samples: [{ prompt: [{ role: 'user', content: 'Say hi' }], completion: 'Hi there' }] })
          : job(12, { progress: { step: 2, max_steps: 4, fraction: 0.5, eta_seconds: 3 } }))
      }
      if (url.startsWith('/api/training-jobs/12/metrics/')) {
        const after = Number(new URL(url, 'http://x').searchParams.get('after') ?? 0)
        const upTo = finished ? 4 : 2
        return json(200, { results: LOGGED.filter((r) => r.step > after && r.step <= upTo), last_step: upTo })
      }
      if (url.startsWith('/api/training-jobs/12/log/')) return json(200, { text: finished ? 'step 4\ndone' : 'step 2', lines: 200 })
      return undefined
    })
    renderWithSession(<JobPage jobId={12} />)
    await waitFor(() => expect(points('loss')).toBe('2'))
    expect(screen.getByRole('status').textContent).toContain('Running · 2 / 4 · about 3 s left')
    expect([...document.querySelectorAll('[data-metric]')].map((e) => e.getAttribute('data-metric'))).toEqual(['loss', 'rewards/margins', 'learning_rate'])
    expect(screen.getByRole('progressbar', { name: 'Job 12 progress' }).getAttribute('aria-valuenow')).toBe('2')
    expect(screen.getByText('gpu-1')).toBeTruthy()
    expect(screen.getByRole('button', { name: 'Cancel job' })).toBeTruthy()

    finished = true
    await waitFor(() => expect(points('loss')).toBe('4'), { timeout: 8000 })
    expect(points('eval_loss')).toBe('1')
    expect(screen.getByRole('status').textContent).toContain('Succeeded')
    expect(screen.queryByRole('button', { name: 'Cancel job' })).toBeNull()
    const metricUrls = calls.filter((c) => c.url.includes('/metrics/')).map((c) => c.url.split('/metrics/')[1])
    expect(metricUrls[0]).toBe('')
    expect(metricUrls.slice(1).every((u) => u === '?after=2' || u === '?after=4')).toBe(true)
    expect(metricUrls).toContain('?after=2')
    // Each chart was built once and then given data: no rebuild per poll.
    const lossCharts = FakeUPlot.instances.filter((u) => u.opts.series[1]?.label === 'loss' && !u.destroyed)
    expect(lossCharts.length).toBe(1)
    expect(lossCharts[0].data).toEqual([[1, 2, 3, 4], [0.7, 0.68, 0.66, 0.6]])

    expect(screen.getByTestId('output-model').textContent).toContain('dpo-12')
    expect(screen.getByTestId('job-evaluation').textContent).toContain('reward_accuracy')
    expect(screen.getByText('Hi there')).toBeTruthy()
    await waitFor(() => expect(screen.getByTestId('job-log').textContent).toBe('step 4\ndone'))
    expect(screen.getByTestId('job-lineage').textContent).toContain('flagged answers left out')
  })

  it('cancels a running job and shows that the cancel is on its way', async () => {
    const posts: string[] = []
    stubFetch(({ url, method }) => {
      if (url === '/api/training-jobs/12/cancel/' && method === 'POST') {
        posts.push(url)
        return json(200, job(12, { cancel_requested_at: '2026-01-01T00:00:06Z', cancelled_by: 'admin' }))
      }
      if (url === '/api/training-jobs/12/') return json(200, job(12, posts.length ? { cancel_requested_at: '2026-01-01T00:00:06Z' } : {}))
      if (url.includes('/metrics/')) return json(200, { results: [], last_step: null })
      if (url.includes('/log/')) return json(200, { text: '', lines: 200 })
      return undefined
    })
    renderWithSession(<JobPage jobId={12} />)
    fireEvent.click(await screen.findByRole('button', { name: 'Cancel job' }))
    await waitFor(() => expect(screen.getByRole('button', { name: 'Cancelling…' })).toHaveProperty('disabled', true))
    expect(posts).toEqual(['/api/training-jobs/12/cancel/'])
    expect(screen.getByRole('status').textContent).toContain('cancelling at the end of this step')
  })

  it('shows a failed job’s error and lets an admin retry it, but not a lead', async () => {
    stubFetch(({ url }) => {
      if (url === '/api/training-jobs/12/') return json(200, job(12, { status: 'failed', error: 'CUDA out of memory', can_cancel: false, can_retry: true, attempts: 3 }))
      if (url.includes('/metrics/')) return json(200, { results: [], last_step: null })
      if (url.includes('/log/')) return json(200, { text: 'Traceback…', lines: 200 })
      return undefined
    })
    const { unmount } = renderWithSession(<JobPage jobId={12} />)
    expect((await screen.findByTestId('job-error')).textContent).toBe('CUDA out of memory')
    expect(screen.getByRole('button', { name: 'Retry' })).toBeTruthy()
    expect(screen.getByText('3 of 3')).toBeTruthy()
    unmount()
    renderWithSession(<JobPage jobId={12} />, { staff: false })
    await screen.findByTestId('job-error')
    expect(screen.queryByRole('button', { name: 'Retry' })).toBeNull()
    expect(screen.queryByRole('button', { name: 'Cancel job' })).toBeNull()
  })

  it('says so when the job is not there for this user', async () => {
    stubFetch(({ url }) => (url === '/api/training-jobs/99/' ? json(404, { detail: 'Not found.' }) : undefined))
    renderWithSession(<JobPage jobId={99} />, { staff: false })
    expect(await screen.findByText(/There is no such job/)).toBeTruthy()
  })
})
