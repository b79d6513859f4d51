import { fireEvent, screen, waitFor } from '@testing-library/react'
import { describe, expect, it, vi } from 'vitest'
import type { Agreement } from '../lib/types'
import { AgreementPanel, itemAgreementValues, itemHistogram } from './AgreementPanel'
import { renderInApp } from '../testing/render'

// Shaped like annotation.quality.report.agreement_report's output.
const REPORT: Agreement = {
  n_items: 40,
  n_annotations: 120,
  percent_agreement: { with_ties: 0.71, without_ties: 0.8 },
  leave_one_out_agreement: 0.66,
  cohen_kappa: [
    { annotators: ['alice', 'bob'], kappa: 0.62, n_items: 30 },
    { annotators: ['alice', 'carol'], kappa: -0.1, n_items: 12 },
  ],
  fleiss_kappa: 0.41,
  krippendorff_alpha: { nominal: 0.4, ordinal: 0.52, interval: 0.55, ratio: null },
  confidence_intervals: { fleiss_kappa: [0.3, 0.5] },
  annotators: [{ annotator: 'alice', n_answers: 40, loo_agreement: 0.7 }, { annotator: 'bob' }, { annotator: 'carol' }],
  items: [{ item: 1, agreement: 1 }, { item: 2, agreement: 0.33 }, { item: 3, agreement: null }],
}

function serve(status: number, body: unknown) {
  vi.stubGlobal('fetch', vi.fn(async () => new Response(JSON.stringify(body), { status })))
}

describe('AgreementPanel', () => {
  it('renders nothing while the agreement API does not exist', async () => {
    serve(404, { detail: 'Not found.' })
    const { container } = renderInApp(<AgreementPanel projectId={1} />)
    await waitFor(() => expect(fetch).toHaveBeenCalled())
    await new Promise((r) => setTimeout(r, 10))
    expect(container.innerHTML).toBe('')
  })

  it('shows headline figures with intervals, a kappa heatmap and the item histogram', async () => {
    serve(200, { ...REPORT, status: 'ready' })
    renderInApp(<AgreementPanel projectId={1} />)
    await screen.findByText('Fleiss κ')
    expect(screen.getByText('95% CI 0.30 – 0.50')).toBeTruthy()
    expect(screen.getByText('0.71')).toBeTruthy()
    const heatmap = screen.getByTestId('kappa-heatmap')
    // 3 annotators: 9 cells, both orders of each measured pair carry its value
    expect(heatmap.querySelectorAll('rect')).toHaveLength(9)
    expect(Array.from(heatmap.querySelectorAll('text')).filter((t) => t.textContent === '0.62')).toHaveLength(2)
    expect(heatmap.textContent).toContain('—') // bob × carol was never measured
    expect(screen.getByTestId('item-histogram').querySelectorAll('rect.bar')).toHaveLength(10)
  })

  it('explains each figure, reads κ on a named scale, titles the chart axes and names contested items by prompt', async () => {
    const contested = [{ item: 5, n_answers: 3, agreement: 0.33, prompt: 'Is a tomato a fruit?' }]
    serve(200, { ...REPORT, status: 'ready', contested_items: contested })
    renderInApp(<AgreementPanel projectId={1} />)
    await screen.findByText('Fleiss κ')
    const fleiss = screen.getAllByTestId('figure').find((f) => f.textContent?.includes('Fleiss κ'))!
    expect(fleiss.textContent).toContain('moderate (Landis & Koch, 1977)') // κ = 0.41
    expect(fleiss.textContent).toContain('beyond what chance would give')
    expect(screen.getByTestId('reading-legend').textContent).toContain('0.4–0.6 moderate')
    const histogram = screen.getByTestId('item-histogram')
    expect(Array.from(histogram.querySelectorAll('text.axis-title')).map((t) => t.textContent)).toEqual([
      'Items',
      "Share of the item's answer pairs that agree",
    ])
    const table = screen.getByTestId('contested-items')
    expect(table.textContent).toContain('Is a tomato a fruit?')
    expect(table.querySelector('a')?.getAttribute('href')).toBe('/projects/1/items/5')
  })

  it('says the figures are being computed on 202 and shows them once the worker is done', async () => {
    const answers = [
      () => new Response(JSON.stringify({ status: 'pending', filters: {} }), { status: 202 }),
      () => new Response(JSON.stringify({ ...REPORT, status: 'ready', stale: false }), { status: 200 }),
    ]
    vi.stubGlobal('fetch', vi.fn(async () => answers.shift()!()))
    renderInApp(<AgreementPanel projectId={1} />)
    await screen.findByText('Computing agreement figures…')
    await screen.findByText('Fleiss κ', {}, { timeout: 3000 })
    expect(fetch).toHaveBeenCalledTimes(2)
  })

  it('asks for one criterion when the lead picks it', async () => {
    serve(200, { ...REPORT, status: 'ready' })
    renderInApp(<AgreementPanel projectId={3} criteria={['helpfulness', 'honesty']} />)
    await screen.findByText('Fleiss κ')
    fireEvent.change(screen.getByRole('combobox'), { target: { value: 'honesty' } })
    await waitFor(() => expect(vi.mocked(fetch).mock.calls.at(-1)?.[0]).toBe('/api/projects/3/agreement/?criterion=honesty'))
  })

  it('reads per-item agreement from the report and skips undefined values', () => {
    expect(itemAgreementValues(REPORT)).toEqual([1, 0.33])
    expect(itemHistogram(REPORT)?.counts).toEqual([0, 0, 0, 1, 0, 0, 0, 0, 0, 1])
  })

  it('prefers the histogram the report computed', () => {
    const histogram = { edges: [0, 0.5, 1], counts: [3, 4] }
    expect(itemHistogram({ ...REPORT, item_agreement_histogram: histogram } as never)).toBe(histogram)
  })
})
