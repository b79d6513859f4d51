import { fireEvent, screen, waitFor, within } from '@testing-library/react'
import { beforeEach, describe, expect, it, vi } from 'vitest'
import { RM, SFT_MODEL, model } from '../fixtures'
import { ProjectModelsPage } from '../ModelsPage'
import { json, renderWithSession, stubFetch } from '../testing/render'

// The Models page's run comparison draws with uPlot, which jsdom cannot.
vi.mock('uplot', () => import('../testing/fakeUPlot'))

const PROJECT = {
  id: 1, name: 'Pairs', kind: 'pairwise', guidelines: '', annotations_per_item: 2, ranking_size: null, allow_tie: true, criteria: [],
  gold_ratio: 0, lease_seconds: 600, role: 'lead', created_at: '2026-01-01T00:00:00Z',
}
const PPO_MODEL = model(9, 'ppo-12', 'policy', 'causal-lm', { source: 'trained', job: 12, parent: 2 })

const STRENGTHS = {
  models: [
    { model: 2, strength: -0.4, ci_low: -0.9, ci_high: 0.1, wins: 10, losses: 16, ties: 4, comparisons: 30 },
    { model: { id: 9, name: 'ppo-12' }, strength: 0.4, ci_low: -0.1, ci_high: 0.9, wins: 16, losses: 10, ties: 4, comparisons: 30 },
    { model: 'gpt-4o (imported)', strength: 0, ci_low: null, ci_high: null, wins: 0, losses: 0, ties: 0, comparisons: 0 },
  ],
}
const LINEAGE = {
  nodes: [
    { id: 'snapshot:3', type: 'snapshot', label: 'snapshot #3' },
    { id: 'job:12', type: 'job', label: 'ppo #12', status: 'succeeded' },
    { id: 'model:9', type: 'model', label: 'ppo-12' },
    { id: 'job:13', type: 'job', label: 'generate #13', status: 'succeeded' },
    { id: 'round:1', type: 'round', label: 'round 1 · 20 items' },
    { id: 'snapshot:4', type: 'snapshot', label: 'snapshot #4' },
  ],
  edges: [
    { from: 'snapshot:3', to: 'job:12', label: 'trained on' },
    { from: 'job:12', to: 'model:9', label: 'made' },
    { from: 'model:9', to: 'job:13', label: 'policy' },
    { from: 'job:13', to: 'round:1', label: 'generated' },
    { from: 'round:1', to: 'snapshot:4', label: 'annotated into' },
  ],
}

function fakeApi(loop: { strengths: () => Response; lineage: () => Response }) {
  return stubFetch(({ url }) => {
    if (url === '/api/projects/1/') return json(200, PROJECT)
    if (url === '/api/projects/1/models/') return json(200, [SFT_MODEL, RM, PPO_MODEL])
    if (url === '/api/training-jobs/?project=1') return json(200, { count: 0, next: null, previous: null, results: [] })
    if (url === '/api/projects/1/model-strengths/') return loop.strengths()
    if (url === '/api/projects/1/lineage/') return loop.lineage()
    return undefined
  })
}

describe('the project’s Models tab', () => {
  beforeEach(() => window.history.replaceState(null, '', '/projects/1/models'))

  it('ranks the models by strength with their intervals and draws the lineage, each node a link', async () => {
    fakeApi({ strengths: () => json(200, STRENGTHS), lineage: () => json(200, LINEAGE) })
    renderWithSession(<ProjectModelsPage projectId={1} />, { staff: false })
    const table = await screen.findByTestId('strengths-table')
    const rows = [...table.querySelectorAll('tbody tr')].map((tr) => [...tr.querySelectorAll('td')].map((td) => td.textContent))
    expect(rows.map((r) => r[1])).toEqual(['ppo-12', 'gpt-4o (imported)', 'sft-9'])
    expect(rows[0]).toEqual(['1', 'ppo-12', '0.4', '-0.1 – 0.9', '', '16', '10', '4', '30', '60%'])
    expect(rows[1].slice(2, 4)).toEqual(['0', '—'])
    expect(rows[1][9]).toBe('—')
    expect(rows[2][3]).toBe('-0.9 – 0.1')

    const graph = await screen.findByTestId('lineage-graph')
    const links = [...graph.querySelectorAll('a[data-node]')].map((a) => [a.getAttribute('data-node'), a.getAttribute('href')])
    expect(Object.fromEntries(links)).toEqual({
      'snapshot:3': '/projects/1/snapshots',
      'job:12': '/training/12',
      'model:9': '/projects/1/models?model=9',
      'job:13': '/training/13',
      'round:1': '/projects/1/items',
      'snapshot:4': '/projects/1/snapshots',
    })
    expect(graph.querySelectorAll('.lineage-edge').length).toBe(5)
    expect(within(screen.getByTestId('project-lineage')).getByText('made')).toBeTruthy()
    fireEvent.click(graph.querySelector('a[data-node="job:12"]')!)
    await waitFor(() => expect(window.location.pathname).toBe('/training/12'))

    // A policy trained here can start the next round; a reward model cannot.
    expect(within(screen.getByTestId('project-models')).getAllByRole('link', { name: 'New round from this model' }).map((a) => a.getAttribute('href'))).toEqual(['/projects/1/rounds?model=2', '/projects/1/rounds?model=9'])
  })

  it('still shows the models when the server has no strengths or lineage yet', async () => {
    fakeApi({ strengths: () => json(404, { errors: [{ message: 'Not found.' }] }), lineage: () => json(404, { errors: [{ message: 'Not found.' }] }) })
    renderWithSession(<ProjectModelsPage projectId={1} />, { staff: false })
    await waitFor(() => expect(screen.getAllByTestId('not-deployed').map((e) => e.getAttribute('data-endpoint'))).toEqual(['GET /api/projects/1/model-strengths/', 'GET /api/projects/1/lineage/']))
    expect(screen.getByTestId('model-strengths').textContent).toContain('The model strengths table is not available on this server yet')
    expect(screen.getByTestId('project-lineage').textContent).toContain('The lineage graph is not available on this server yet')
    expect(screen.getByTestId('models-table').querySelectorAll('tbody tr').length).toBe(3)
  })

  it('says when there is nothing to rank or draw yet', async () => {
    fakeApi({ strengths: () => json(200, { models: [] }), lineage: () => json(200, { nodes: [], edges: [] }) })
    renderWithSession(<ProjectModelsPage projectId={1} />)
    expect(await screen.findByText(/No answers on generated pairs yet/)).toBeTruthy()
    expect(await screen.findByText('Nothing trained or generated from this project yet.')).toBeTruthy()
  })
})
