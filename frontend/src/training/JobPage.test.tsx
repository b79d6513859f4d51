import { fireEvent, screen, waitFor, within } from '@testing-library/react'
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
    // Each poll reads the last step held again (values may have been added to it) and what came after.
    expect(metricUrls.slice(1).every((u) => u === '?after=1' || u === '?after=3')).toBe(true)
    expect(metricUrls).toContain('?after=1')
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

const RM_REF = { id: 3, name: 'rm-10', kind: 'reward' }
const PPO_ROWS = [
  row(1, { 'objective/scores': 0.1, 'objective/kl': 0.2 }),
  row(2, { 'objective/scores': 0.2, 'objective/kl': 0.4, 'eval/mean_kl': 2.5, 'eval/mean_reward': 0.3, 'eval/win_rate': 0.5, 'eval/mean_length': 8 }),
  row(3, { 'objective/scores': 0.4, 'objective/kl': 0.6 }),
  row(4, { 'objective/scores': 0.9, 'objective/kl': 1.1, 'eval/mean_kl': 1.5, 'eval/mean_reward': 0.8, 'eval/win_rate': 0.75, 'eval/mean_length': 9 }),
]
const rewardKlChart = () => FakeUPlot.instances.filter((u) => u.opts.series[1]?.label === 'eval/mean_reward' && u.opts.series[0]?.label === 'eval/mean_kl' && !u.destroyed)

describe('JobPage for a PPO job', () => {
  it('draws reward against KL as the checkpoints arrive, then shows the warnings with their numbers, the summary and the samples side by side', async () => {
    let finished = false
    let metricReads = 0
    stubFetch(({ url }) => {
      if (url === '/api/training-jobs/12/') {
        return json(200, finished
          ? job(12, {
              kind: 'ppo', status: 'succeeded', reward_model: RM_REF, can_cancel: false, finished_at: '2026-01-01T00:00:09Z',
              progress: { step: 4, max_steps: 4, fraction: 1, eta_seconds: 0 }, output_model: { id: 9, name: 'ppo-12', kind: 'policy' },
              evaluation: {
                policy_vs_reference: { win_rate: 0.625, mean_score: 1.5, reference_mean_score: 0.25, mean_kl: 3.2, mean_length: 7.5, prompts: 8 },
                final_beta: 0.07,
                warnings: [
                  { kind: 'kl', message: 'KL to the reference rose from 0.20 to 1.10 nats per response (peak 1.10; bound 0.50)' },
                  { kind: 'no_eos', message: '75% of responses no longer end (was 10%)' },
                ],
              },
              samples: [{ prompt: [{ role: 'user', content: 'Say hi' }], completion: 'Hi hi hi hi', reference: 'Hello.' }],
            })
          : job(12, { kind: 'ppo', reward_model: RM_REF, progress: { step: 2, max_steps: 4, fraction: 0.5, eta_seconds: 3 } }))
      }
      if (url.startsWith('/api/training-jobs/12/metrics/')) {
        metricReads++
        const after = Number(new URL(url, 'http://x').searchParams.get('after') ?? 0)
        const upTo = finished ? 4 : 2
        // The checkpoint evaluation lands on step 2's row after that row was first read.
        const rows = PPO_ROWS.map((r) => (metricReads === 1 && r.step === 2 ? row(2, { 'objective/scores': 0.2, 'objective/kl': 0.4 }) : r))
        return json(200, { results: rows.filter((r) => r.step > after && r.step <= upTo), last_step: upTo })
      }
      if (url.startsWith('/api/training-jobs/12/log/')) return json(200, { text: '', lines: 200 })
      return undefined
    })
    renderWithSession(<JobPage jobId={12} />)
    await waitFor(() => expect(metricReads).toBe(1))
    await waitFor(() => expect(screen.getByTestId('reward-kl').getAttribute('data-points')).toBe('1'), { timeout: 8000 })
    expect(screen.getByTestId('hacking-warnings').textContent).toBe('Checked for reward hacking when the job finishes.')
    expect(rewardKlChart().length).toBe(1)
    expect(rewardKlChart()[0].data).toEqual([[2.5], [0.3]])
    // Points only: a scatter, with KL on a continuous axis.
    expect(rewardKlChart()[0].opts.series[1].paths).toBeTypeOf('function')
    expect(rewardKlChart()[0].opts.axes?.[0].incrs).toBeUndefined()

    finished = true
    await waitFor(() => expect(screen.getByTestId('reward-kl').getAttribute('data-points')).toBe('2'), { timeout: 8000 })
    // The same chart, given the new point; its x values sorted by KL.
    expect(rewardKlChart().length).toBe(1)
    expect(rewardKlChart()[0].data).toEqual([[1.5, 2.5], [0.8, 0.3]])
    const cells = [...screen.getByTestId('checkpoint-evals').querySelectorAll('tbody tr')].map((tr) => [...tr.querySelectorAll('td')].map((td) => td.textContent))
    expect(cells).toEqual([['2', '2.5', '0.3', '50%', '8'], ['4', '1.5', '0.8', '75%', '9']])

    const warnings = await screen.findByRole('region', { name: /2 signs of reward hacking/ })
    expect(warnings.getAttribute('data-count')).toBe('2')
    expect(warnings.textContent).toContain('KL to the reference rose from 0.20 to 1.10 nats per response (peak 1.10; bound 0.50)')
    expect(warnings.textContent).toContain('75% of responses no longer end (was 10%)')
    expect([...warnings.querySelectorAll('li')].map((li) => li.getAttribute('data-kind'))).toEqual(['kl', 'no_eos'])

    const summary = screen.getByTestId('policy-vs-reference')
    expect(summary.textContent).toContain('62.5%')
    expect(summary.textContent).toContain('1.5 vs 0.25')
    expect(summary.textContent).toContain('+1.25')
    expect(summary.textContent).toContain('Final KL coefficient β0.07')
    expect(summary.textContent).toContain('not measured by a ppo job; run an evaluate job')

    const sample = within(screen.getByTestId('side-by-side'))
    expect(sample.getByText('Hi hi hi hi').closest('[data-side]')?.getAttribute('data-side')).toBe('policy')
    expect(sample.getByText('Hello.').closest('[data-side]')?.getAttribute('data-side')).toBe('reference')
    expect(screen.getByTestId('output-model').textContent).toContain('ppo-12')
    expect(screen.getByTestId('job-lineage').textContent).toContain('rm-10')
  })

  it('says there are no warnings when the checks found none', async () => {
    stubFetch(({ url }) => {
      if (url === '/api/training-jobs/12/') return json(200, job(12, { kind: 'ppo', status: 'succeeded', can_cancel: false, reward_model: RM_REF, evaluation: { policy_vs_reference: { win_rate: 0.5 }, warnings: [] } }))
      if (url.includes('/metrics/')) return json(200, { results: [], last_step: null })
      if (url.includes('/log/')) return json(200, { text: '', lines: 200 })
      return undefined
    })
    renderWithSession(<JobPage jobId={12} />)
    const note = await screen.findByTestId('hacking-warnings')
    expect(note.getAttribute('data-count')).toBe('0')
    expect(note.textContent).toMatch(/^No warnings/)
    await waitFor(() => expect(screen.getByTestId('reward-kl').textContent).toContain('No checkpoint was evaluated.'))
  })
})

describe('JobPage for an evaluate job', () => {
  it('shows the policy against its reference with the best-of-n baseline, the samples with their rewards, and no output model', async () => {
    stubFetch(({ url }) => {
      if (url === '/api/training-jobs/14/') {
        return json(200, job(14, {
          kind: 'evaluate', status: 'succeeded', can_cancel: false, reward_model: RM_REF, reference_model: { id: 1, name: 'tiny-gpt2', kind: 'base' },
          evaluation: {
            prompts: 6, win_rate: 0.5, mean_reward: 0.2, reference_mean_reward: 0.1, mean_kl: 1.25, mean_length: 6, ended_fraction: 0.5,
            reward_length_correlation: -0.3, best_of_n: { n: 3, mean_reward: 0.4, kl: 0.4319, policy_win_rate: 0.25 },
          },
          samples: [
            { prompt: 'Name a colour', completion: 'Blue', reference: 'Uh', policy_reward: 1.25, reference_reward: -0.5 },
            { prompt: 'Name a fruit', completion: 'Rock', reference: 'Apple', policy_reward: -1, reference_reward: 2 },
          ],
        }))
      }
      if (url.includes('/metrics/')) return json(200, { results: [], last_step: null })
      if (url.includes('/log/')) return json(200, { text: '', lines: 200 })
      return undefined
    })
    renderWithSession(<JobPage jobId={14} />)
    const summary = await screen.findByTestId('policy-vs-reference')
    expect(screen.getByRole('heading', { name: 'Policy against reference' })).toBeTruthy()
    for (const text of ['50%', '0.2 vs 0.1', '6 held-out prompts', 'Reward–length correlation-0.3', 'Best-of-3 baseline: mean reward0.4at KL 0.4319', 'Policy win rate against best-of-325%', 'Responses that end50%']) {
      expect(summary.textContent).toContain(text)
    }
    const samples = screen.getByTestId('side-by-side')
    const [first, second] = samples.querySelectorAll('[data-sample]')
    expect(first.querySelector('[data-side=policy]')?.textContent).toContain('reward 1.25')
    expect(first.querySelector('[data-side=policy]')?.textContent).toContain('higher')
    expect(first.querySelector('[data-side=reference]')?.textContent).not.toContain('higher')
    expect(second.querySelector('[data-side=reference]')?.textContent).toContain('higher')
    expect(screen.queryByTestId('output-model')).toBeNull()
    expect(screen.queryByTestId('hacking-warnings')).toBeNull()
    expect(screen.queryByTestId('reward-kl')).toBeNull()
    expect(screen.getByTestId('job-lineage').textContent).toContain('tiny-gpt2')
  })
})

describe('JobPage for the jobs that close the loop', () => {
  it('draws each kind’s samples by their shape and shows no output model', async () => {
    const samples = [
      { prompt_id: 4, prompt: [{ role: 'user', content: 'Name a colour' }], responses: [{ text: 'Blue', model: 'sft-9' }, { text: 'Red', model: 'ppo-12' }] },
      { prompt_id: 5, prompt: [{ role: 'user', content: 'Insult me' }], original: 'You fool.', critique: 'It is rude.', revision: 'I would rather not.', principle: { critique: 'Is it rude?', revision: 'Be kind.' } },
      { item_id: 8, scores: { '11': 0.5, '12': -0.25 } },
    ]
    stubFetch(({ url }) => {
      if (url === '/api/training-jobs/15/') return json(200, job(15, { kind: 'generate', status: 'succeeded', can_cancel: false, snapshot: null, evaluation: { prompts: 2, items: 2, skipped_prompts: 0 }, samples }))
      if (url.includes('/metrics/')) return json(200, { results: [], last_step: null })
      if (url.includes('/log/')) return json(200, { text: '', lines: 200 })
      return undefined
    })
    renderWithSession(<JobPage jobId={15} />)
    const list = await screen.findByTestId('job-samples')
    const [generated, revised, scored] = list.querySelectorAll('[data-sample]')
    expect(generated.querySelector('[data-candidates]')?.getAttribute('data-candidates')).toBe('2')
    expect(generated.textContent).toContain('Candidate 2 · ppo-12')
    expect(generated.textContent).toContain('Red')
    expect(revised.textContent).toContain('OriginalYou fool.')
    expect(revised.textContent).toContain('RevisionI would rather not.')
    expect(revised.textContent).toContain('Critique of “Is it rude?”')
    expect(scored.querySelector('pre')?.textContent).toContain('"item_id": 8')
    expect(screen.getByTestId('job-evaluation').textContent).toContain('skipped_prompts')
    expect(screen.queryByTestId('output-model')).toBeNull()
    expect(screen.queryByTestId('hacking-warnings')).toBeNull()
  })
})
