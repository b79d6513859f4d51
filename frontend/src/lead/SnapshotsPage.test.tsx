import { fireEvent, screen, waitFor } from '@testing-library/react'
import { describe, expect, it, vi } from 'vitest'
import type { Project, Snapshot } from '../lib/types'
import { Snapshots, snapshotRequest } from './SnapshotsPage'
import { renderInApp } from '../testing/render'

const project = (kind: Project['kind'] = 'pairwise'): Project => ({
  id: 4, name: 'Pairs', kind, guidelines: '', annotations_per_item: 3, ranking_size: kind === 'ranking' ? 4 : null,
  allow_tie: true, criteria: [], gold_ratio: 0, lease_seconds: 600, role: 'lead', created_at: '',
})

const SHA = 'ab'.repeat(32)

const snapshot = (state: Snapshot['state'], extra: Partial<Snapshot> = {}): Snapshot => ({
  id: 9, project: 4, state, rules: { exclude_flagged: true }, options: { parquet: false }, test_fraction: 0.1, seed: 0,
  counts: {}, files: [], fingerprint: null, library_version: 'rlhf 0.1.0', error: '', created_by: 'lead1',
  created_at: '2026-01-01T10:00:00Z', finished_at: null, ...extra,
})

const READY = snapshot('ready', {
  counts: { items: 8, answers: 24, pairs: 7, skipped_ties: 1, adjudicated: 2, prompts: 8, raw_answers: 30,
            splits: { train: { prompts: 7, items: 7, answers: 21, pairs: 6 }, test: { prompts: 1, items: 1, answers: 3, pairs: 1 } } },
  files: [{ name: 'preference-train.jsonl', rows: 6, sha256: SHA, bytes: 2048, url: '/api/snapshots/9/files/preference-train.jsonl' }],
  fingerprint: 'cd'.repeat(32), finished_at: '2026-01-01T10:00:02Z',
})

const json = (status: number, body: unknown) => new Response(JSON.stringify(body), { status })

function fakeApi(afterCreate: Snapshot[]) {
  const posts: unknown[] = []
  vi.stubGlobal('fetch', vi.fn(async (url: string, init: RequestInit = {}) => {
    if (url === '/api/projects/4/snapshots/' && init.method === 'POST') {
      posts.push(JSON.parse(String(init.body)))
      return json(202, snapshot('pending'))
    }
    if (url === '/api/projects/4/snapshots/') return json(200, [])
    if (url === '/api/projects/4/curation/') return json(200, { rules: { exclude_flagged: true, min_item_agreement: 0.5 } })
    if (url === '/api/snapshots/9/') return json(200, afterCreate.length > 1 ? afterCreate.shift() : afterCreate[0])
    throw new Error(`unexpected ${init.method} ${url}`)
  }))
  return posts
}

describe('Snapshots', () => {
  it('creates a snapshot with the saved rules and follows it until it is ready, then lists its files', async () => {
    const posts = fakeApi([snapshot('building'), READY])
    renderInApp(<Snapshots project={project()} />)
    await screen.findByText('No snapshots yet')
    const rules = screen.getByTestId('snapshot-rules')
    await waitFor(() => expect(rules.textContent).toContain('item agreement ≥ 50%'))
    expect(rules.querySelector('a')?.getAttribute('href')).toBe('/projects/4/curation')
    fireEvent.click(screen.getByRole('button', { name: 'Create snapshot' }))
    await screen.findByText('Waiting for a worker…')
    expect(posts).toEqual([{ rules: { exclude_flagged: true, min_item_agreement: 0.5 }, test_fraction: 0.1, seed: 0, options: { parquet: false } }])

    const card = screen.getByTestId('snapshot')
    await waitFor(() => expect(card.dataset.state).toBe('ready'), { timeout: 8000 })
    const link = screen.getByRole('link', { name: 'preference-train.jsonl' })
    expect(link.getAttribute('href')).toBe('/api/snapshots/9/files/preference-train.jsonl')
    const sha = screen.getByTitle(SHA)
    expect(sha.textContent).toBe(`${SHA.slice(0, 12)}…`)
    expect(screen.getByText('2.0 KiB').getAttribute('title')).toBe('2048 bytes')
    expect(card.querySelector('[data-count=pairs] strong')?.textContent).toBe('7')
    expect(card.querySelector('[data-count="settled by a lead"] strong')?.textContent).toBe('2')
    expect(card.querySelector('[data-split=test]')?.textContent).toBe('test1131')
    expect(card.querySelector('[data-testid=fingerprint] code')?.getAttribute('title')).toBe('cd'.repeat(32))
  })

  it('shows why a build failed', async () => {
    fakeApi([snapshot('failed', { error: 'RuntimeError: the answers changed', finished_at: '2026-01-01T10:00:01Z' })])
    renderInApp(<Snapshots project={project()} />)
    await screen.findByText('No snapshots yet')
    await waitFor(() => expect((screen.getByRole('button', { name: 'Create snapshot' }) as HTMLButtonElement).disabled).toBe(false))
    fireEvent.click(screen.getByRole('button', { name: 'Create snapshot' }))
    expect((await screen.findByTestId('snapshot-error', {}, { timeout: 8000 })).textContent).toContain('RuntimeError: the answers changed')
  })
})

describe('snapshotRequest', () => {
  const form = { testFraction: '0.2', seed: '42', parquet: true, bestVsRest: true }

  it('asks for best-vs-rest pairs only in ranking projects', () => {
    expect(snapshotRequest(form, 'pairwise', {}).body).toEqual({ rules: {}, test_fraction: 0.2, seed: 42, options: { parquet: true } })
    expect(snapshotRequest(form, 'ranking', {}).body?.options).toEqual({ parquet: true, ranking_pairs: 'best_vs_rest' })
    expect(snapshotRequest({ ...form, bestVsRest: false }, 'ranking', {}).body?.options).toEqual({ parquet: true, ranking_pairs: 'all' })
  })

  it('names the fields that cannot be sent', () => {
    const { body, errors } = snapshotRequest({ ...form, testFraction: '0.95', seed: '1.5' }, 'pairwise', {})
    expect(body).toBeUndefined()
    expect(errors.map((e) => e.field)).toEqual(['test_fraction', 'seed'])
    expect(snapshotRequest({ ...form, testFraction: '' }, 'pairwise', {}).errors.map((e) => e.field)).toEqual(['test_fraction'])
  })
})
