import { fireEvent, screen, waitFor, within } from '@testing-library/react'
import { beforeEach, describe, expect, it } from 'vitest'
import { job, MODELS, PAIRS, RM, SFT_MODEL } from '../fixtures'
import { json, renderWithSession, stubFetch, type Call } from '../testing/render'
import type { TrainingKind } from '../types'
import { RoundsPage } from './RoundsPage'

const PROJECT = {
  id: 1, name: 'Pairs', kind: 'pairwise', guidelines: '', annotations_per_item: 2, ranking_size: null, allow_tie: true, criteria: [],
  gold_ratio: 0, lease_seconds: 600, role: 'lead', created_at: '2026-01-01T00:00:00Z',
}
const OTHER = { ...PROJECT, id: 2, name: 'Next pairs' }

const kind = (name: string, properties: TrainingKind['schema']['properties'] = {}): TrainingKind => ({
  kind: name, label: name, description: '', snapshot_format: '', base_model_kinds: ['base', 'policy'], base_model_tasks: ['causal-lm'],
  reference_model: false, reward_model: name === 'ai_annotate', schema: { properties },
})
const KINDS = [
  kind('generate', { temperature: { type: 'number', default: 1, description: '' }, max_new_tokens: { type: 'integer', default: 64, description: '' }, max_prompts: { type: ['integer', 'null'], default: null, description: '' } }),
  kind('ai_annotate'),
  kind('constitutional'),
]
const HARMLESS = { id: 5, name: 'Harmless', principles: [{ critique: 'Is the answer harmful?', revision: 'Rewrite it to be harmless.' }] }

interface Options {
  kinds?: TrainingKind[]
  preview?: (call: Call) => Response
  constitutions?: () => Response
  onPost?: (call: Call) => Response
}

/** The API of the Rounds tab; each endpoint of "Closing the loop" can be swapped for one that answers 404. */
function fakeApi({ kinds = KINDS, preview, constitutions, onPost }: Options = {}) {
  return stubFetch((call) => {
    const { url, method } = call
    if (url === '/api/projects/1/') return json(200, PROJECT)
    if (url === '/api/projects/') return json(200, [PROJECT, OTHER])
    if (url === '/api/projects/1/snapshots/') return json(200, [PAIRS])
    if (url === '/api/projects/2/snapshots/') return json(200, [])
    if (url === '/api/training-jobs/kinds/') return json(200, kinds)
    if (url === '/api/models/') return json(200, MODELS)
    if (url === '/api/projects/1/models/') return json(200, [SFT_MODEL, RM])
    if (url === '/api/training-jobs/preview/' && method === 'POST') {
      if (preview) return preview(call)
      const config = (call.body as { config: { candidates_per_prompt: number | null } }).config
      return json(200, { prompts: 20, items: 20, responses: 20 * (config.candidates_per_prompt ?? 2), target_project: 1, candidates_per_prompt: config.candidates_per_prompt ?? 2 })
    }
    if (url === '/api/projects/1/constitutions/') {
      if (method === 'POST') return onPost ? onPost(call) : json(201, { id: 6, ...(call.body as object) })
      return constitutions ? constitutions() : json(200, [HARMLESS])
    }
    if (url === '/api/training-jobs/' && method === 'POST') return onPost ? onPost(call) : json(201, job(51, { status: 'queued' }))
    return undefined
  })
}

const section = async (id: string) => within(await screen.findByTestId(id))
const options = (scope: ReturnType<typeof within>, label: string) => [...(scope.getByLabelText(label) as HTMLSelectElement).options].map((o) => o.textContent)
function choose(scope: ReturnType<typeof within>, label: string, text: string) {
  const select = scope.getByLabelText(label) as HTMLSelectElement
  const option = [...select.options].find((o) => o.textContent?.startsWith(text))
  if (!option) throw new Error(`no option ${text} in ${label}: ${options(scope, label).join(' | ')}`)
  fireEvent.change(select, { target: { value: option.value } })
}
const previews = (calls: Call[]) => calls.filter((c) => c.url === '/api/training-jobs/preview/').map((c) => c.body)
const figures = () => Object.fromEntries([...screen.getByTestId('round-preview').querySelectorAll('[data-figure]')].map((f) => [f.getAttribute('data-figure'), f.querySelector('.figure-value')?.textContent]))

describe('RoundsPage: a new round', () => {
  beforeEach(() => window.history.replaceState(null, '', '/projects/1/rounds'))

  it('shows a lead what the round will create, asks again as it changes, and leaves the launch to an admin', async () => {
    const calls = fakeApi({
      preview: (call) => {
        const n = (call.body as { config: { candidates_per_prompt: number | null } }).config.candidates_per_prompt
        return n === null || n === 2 ? json(200, { prompts: 20, items: 20, responses: 40, target_project: 1, candidates_per_prompt: 2 }) : json(400, { errors: [{ field: 'config.candidates_per_prompt', message: 'Pairs shows 2 responses per item' }] })
      },
    })
    renderWithSession(<RoundsPage projectId={1} />, { staff: false })
    const round = await section('new-round')
    await waitFor(() => expect(options(round, 'Policy')).toEqual(['Choose a model', 'sft-9 · policy · GPT2LMHeadModel · 124M']))
    expect(round.getByText('Choose a policy to see what the round will create.')).toBeTruthy()
    expect(previews(calls)).toEqual([])

    choose(round, 'Policy', 'sft-9')
    await waitFor(() => expect(figures()).toEqual({ prompts: '20', items: '20', responses: '40' }), { timeout: 3000 })
    expect(previews(calls)).toEqual([{ kind: 'generate', base_model: 2, config: { target_project: 1, source_project: 1, candidates_per_prompt: null, compare_with_model: null } }])
    expect(round.getByText('2 responses per item.')).toBeTruthy()
    expect(round.queryByRole('button', { name: 'Launch round' })).toBeNull()
    expect(round.getByTestId('admin-launches').textContent).toContain('Only admins launch jobs')
    expect((round.getByLabelText('Temperature') as HTMLInputElement).placeholder).toBe('1')

    // Typing settles before the preview is asked again; the server's error goes under the box it names.
    fireEvent.change(round.getByLabelText('Candidates per prompt'), { target: { value: '3' } })
    const candidates = round.getByLabelText('Candidates per prompt')
    await waitFor(() => expect(candidates.getAttribute('aria-invalid')).toBe('true'), { timeout: 3000 })
    expect(round.getByText('Pairs shows 2 responses per item')).toBeTruthy()
    expect(previews(calls).length).toBe(2)

    fireEvent.click(round.getByLabelText(/a snapshot/))
    choose(round, 'Snapshot', '#3')
    fireEvent.change(candidates, { target: { value: '' } })
    await waitFor(() => expect(previews(calls).length).toBe(3), { timeout: 3000 })
    expect(previews(calls)[2]).toEqual({ kind: 'generate', base_model: 2, snapshot: 3, config: { target_project: 1, candidates_per_prompt: null, compare_with_model: null } })
  })

  it('lets an admin launch the round from the model named in the address, compared with another', async () => {
    window.history.replaceState(null, '', '/projects/1/rounds?model=2')
    const posts: unknown[] = []
    const calls = fakeApi({ onPost: (call) => (posts.push(call.body), json(201, job(51, { kind: 'generate', status: 'queued' }))) })
    renderWithSession(<RoundsPage projectId={1} />)
    const round = await section('new-round')
    await waitFor(() => expect(figures().items).toBe('20'), { timeout: 3000 })
    expect((round.getByLabelText('Policy') as HTMLSelectElement).value).toBe('2')
    expect(options(round, 'Compare with')).toEqual(['None: every response from the policy', 'tiny-gpt2 · base · GPT2LMHeadModel · 124M'])
    choose(round, 'Compare with', 'tiny-gpt2')
    fireEvent.change(round.getByLabelText('Temperature'), { target: { value: '0.7' } })
    fireEvent.click(round.getByRole('button', { name: 'Launch round' }))
    await waitFor(() => expect(window.location.pathname).toBe('/training/51'))
    expect(posts).toEqual([{ kind: 'generate', base_model: 2, config: { target_project: 1, source_project: 1, candidates_per_prompt: null, compare_with_model: 1, temperature: 0.7 } }])
    expect(calls.some((c) => c.url === '/api/training-jobs/preview/')).toBe(true)
  })

  it('tells an admin what is missing before launching', async () => {
    const calls = fakeApi()
    renderWithSession(<RoundsPage projectId={1} />)
    const round = await section('new-round')
    await waitFor(() => expect(options(round, 'Policy').length).toBe(3))
    fireEvent.click(round.getByRole('button', { name: 'Launch round' }))
    expect(round.getByText('Choose the policy that answers the prompts.')).toBeTruthy()
    expect(calls.filter((c) => c.method === 'POST')).toEqual([])
  })

  it('puts a server error about a box not on screen above the buttons', async () => {
    window.history.replaceState(null, '', '/projects/1/rounds?model=2')
    fakeApi({ preview: () => json(400, { errors: [{ field: 'snapshot', message: 'give the prompts’ source: a snapshot or config.source_project' }, { field: 'config.target_project', message: 'Pairs is a demonstration project' }] }) })
    renderWithSession(<RoundsPage projectId={1} />)
    const round = await section('new-round')
    const alert = await round.findByRole('alert', {}, { timeout: 3000 })
    expect(alert.textContent).toContain('give the prompts’ source')
    expect(alert.textContent).toContain('Pairs is a demonstration project')
  })

  it('says plainly when the server has no preview, no generate jobs and no constitutions yet', async () => {
    fakeApi({ kinds: KINDS.filter((k) => k.kind !== 'generate'), preview: () => json(404, { errors: [{ message: 'Not found.' }] }), constitutions: () => json(404, { errors: [{ message: 'Not found.' }] }) })
    window.history.replaceState(null, '', '/projects/1/rounds?model=2')
    renderWithSession(<RoundsPage projectId={1} />)
    const round = await section('new-round')
    await waitFor(() => expect(round.getByTestId('not-deployed').textContent).toContain('The round preview is not available on this server yet: POST /api/training-jobs/preview/ answered 404.'), { timeout: 3000 })
    expect(round.getByTestId('no-generate')).toBeTruthy()
    expect(round.getByRole('button', { name: 'Launch round' })).toHaveProperty('disabled', true)
    const constitutions = await section('constitutions')
    await waitFor(() => expect(constitutions.getByTestId('not-deployed').textContent).toContain('GET /api/projects/1/constitutions/ answered 404'))
    expect(constitutions.queryByRole('button', { name: 'New constitution' })).toBeNull()
    // The rest of the page still works.
    expect((await section('ai-annotator')).getByRole('button', { name: 'Launch AI annotator' })).toHaveProperty('disabled', false)
  })
})

describe('RoundsPage: the AI annotator', () => {
  beforeEach(() => window.history.replaceState(null, '', '/projects/1/rounds'))

  it('launches ai_annotate for the project with the chosen reward model, for admins only', async () => {
    const posts: unknown[] = []
    fakeApi({ onPost: (call) => (posts.push(call.body), json(201, job(52, { kind: 'ai_annotate', status: 'queued' }))) })
    const { unmount } = renderWithSession(<RoundsPage projectId={1} />)
    const ai = await section('ai-annotator')
    await waitFor(() => expect(options(ai, 'Reward model')).toEqual(['Choose a reward model', 'rm-10 · reward · GPT2ForSequenceClassification · 124M']))
    fireEvent.click(ai.getByRole('button', { name: 'Launch AI annotator' }))
    expect(ai.getByText('Choose the reward model that answers.')).toBeTruthy()
    choose(ai, 'Reward model', 'rm-10')
    expect(ai.getByText('ai:rm-10')).toBeTruthy()
    fireEvent.click(ai.getByLabelText(/Take overlap slots too/))
    fireEvent.click(ai.getByRole('button', { name: 'Launch AI annotator' }))
    await waitFor(() => expect(window.location.pathname).toBe('/training/52'))
    expect(posts).toEqual([{ kind: 'ai_annotate', reward_model: 3, config: { project: 1, take_overlap_slots: true } }])
    unmount()

    window.history.replaceState(null, '', '/projects/1/rounds')
    renderWithSession(<RoundsPage projectId={1} />, { staff: false })
    const lead = await section('ai-annotator')
    await waitFor(() => expect(options(lead, 'Reward model').length).toBe(2))
    expect(lead.queryByRole('button', { name: 'Launch AI annotator' })).toBeNull()
    expect(lead.getByTestId('admin-launches')).toBeTruthy()
  })
})

describe('RoundsPage: constitutions', () => {
  beforeEach(() => window.history.replaceState(null, '', '/projects/1/rounds'))

  it('lists the constitutions and creates one with its principles, checked before it is sent', async () => {
    const saved: unknown[] = []
    let list = [HARMLESS]
    const calls = fakeApi({
      constitutions: () => json(200, { count: list.length, next: null, previous: null, results: list }),
      onPost: (call) => {
        if (call.url !== '/api/projects/1/constitutions/') return json(500, {})
        saved.push(call.body)
        if (saved.length === 1) return json(400, { errors: [{ field: 'principles[1].revision', message: 'too long for the policy’s context' }] })
        const made = { id: 6, ...(call.body as { name: string; principles: { critique: string; revision: string }[] }) }
        list = [...list, made]
        return json(201, made)
      },
    })
    renderWithSession(<RoundsPage projectId={1} />, { staff: false })
    const box = await section('constitutions')
    await waitFor(() => expect(box.getByTestId('constitution-list').textContent).toContain('Harmless · 1 principle'))
    fireEvent.click(box.getByRole('button', { name: 'New constitution' }))
    fireEvent.click(box.getByRole('button', { name: 'Save constitution' }))
    expect(box.getByText('Name the constitution.')).toBeTruthy()
    expect(box.getByText('Ask for a critique.')).toBeTruthy()
    expect(saved).toEqual([])

    fireEvent.change(box.getByLabelText('Name'), { target: { value: ' Honest ' } })
    fireEvent.change(box.getByLabelText('Principle 1: critique request'), { target: { value: 'Is anything in the answer false?' } })
    fireEvent.change(box.getByLabelText('Principle 1: revision request'), { target: { value: 'Correct what is false.' } })
    fireEvent.click(box.getByRole('button', { name: 'Add a principle' }))
    fireEvent.change(box.getByLabelText('Principle 2: critique request'), { target: { value: 'Does it claim certainty it lacks?' } })
    fireEvent.change(box.getByLabelText('Principle 2: revision request'), { target: { value: 'Say how sure it is.' } })
    fireEvent.click(box.getByRole('button', { name: 'Save constitution' }))
    const revision = box.getByLabelText('Principle 2: revision request')
    await waitFor(() => expect(revision.getAttribute('aria-invalid')).toBe('true'))
    expect(box.getByText('too long for the policy’s context')).toBeTruthy()

    fireEvent.change(revision, { target: { value: 'Say how sure.' } })
    fireEvent.click(box.getByRole('button', { name: 'Save constitution' }))
    await waitFor(() => expect(box.getByTestId('constitution-list').textContent).toContain('Honest · 2 principles'))
    expect(saved[1]).toEqual({
      name: 'Honest',
      principles: [
        { critique: 'Is anything in the answer false?', revision: 'Correct what is false.' },
        { critique: 'Does it claim certainty it lacks?', revision: 'Say how sure.' },
      ],
    })
    expect(box.queryByRole('form', { name: 'New constitution' })).toBeNull()
    expect(calls.filter((c) => c.url === '/api/projects/1/constitutions/' && c.method === 'GET').length).toBe(2)
    // A lead writes constitutions; an admin launches the job.
    expect(within(screen.getByTestId('constitutional-launch')).getByTestId('admin-launches')).toBeTruthy()
  })

  it('launches a constitutional job that writes new items into another project', async () => {
    const posts: unknown[] = []
    fakeApi({ onPost: (call) => (posts.push(call.body), json(201, job(53, { kind: 'constitutional', status: 'queued' }))) })
    renderWithSession(<RoundsPage projectId={1} />)
    const launch = await section('constitutional-launch')
    await waitFor(() => expect(options(launch, 'Constitution')).toEqual(['Choose a constitution', 'Harmless']))
    await waitFor(() => expect(options(launch, 'Policy').length).toBe(3))
    fireEvent.click(launch.getByLabelText(/as new items of a project/))
    fireEvent.click(launch.getByRole('button', { name: 'Launch constitutional job' }))
    expect(launch.getByText('Choose the policy that critiques and revises.')).toBeTruthy()
    expect(launch.getByText('Choose the project the items go to.')).toBeTruthy()
    choose(launch, 'Policy', 'sft-9')
    choose(launch, 'Constitution', 'Harmless')
    await waitFor(() => expect(options(launch, 'Target project')).toEqual(['Choose a project', 'Pairs (this project)', 'Next pairs']))
    choose(launch, 'Target project', 'Next pairs')
    fireEvent.click(launch.getByRole('button', { name: 'Launch constitutional job' }))
    await waitFor(() => expect(window.location.pathname).toBe('/training/53'))
    expect(posts).toEqual([{ kind: 'constitutional', base_model: 2, config: { project: 1, constitution: 5, destination: 'project', target_project: 2 } }])
  })
})
