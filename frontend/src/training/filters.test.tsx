import { fireEvent, screen, waitFor, within } from '@testing-library/react'
import { beforeEach, describe, expect, it } from 'vitest'
import { baseModelsForKind, formatRows, rewardModels, snapshotsForKind } from './filters'
import { BUILDING, DEMOS, DPO, DPO_WITH_RM, EMPTY_PAIRS, EVALUATE, FAILED_PAIRS, TEST_ONLY, job, MODELS, PAIRS, PPO, REWARD, SFT } from './fixtures'
import { NewJobPage } from './NewJobPage'
import { json, renderWithSession, stubFetch, type Call } from './testing/render'
import type { TrainingKind } from './types'

const ALL = [PAIRS, DEMOS, EMPTY_PAIRS, BUILDING, FAILED_PAIRS, TEST_ONLY]

describe('snapshotsForKind', () => {
  it('offers ready snapshots whose training split holds rows of the kind’s format, counted from the JSONL files', () => {
    expect(snapshotsForKind(ALL, DPO).map((s) => s.id)).toEqual([3])
    expect(snapshotsForKind(ALL, SFT).map((s) => s.id)).toEqual([4])
    expect(snapshotsForKind(ALL, PPO).map((s) => s.id)).toEqual([3, 4, 5])
    expect(snapshotsForKind(ALL, { snapshot_format: 'kto' })).toEqual([])
    expect(formatRows(PAIRS, 'preference')).toEqual({ train: 40, test: 5 })
    expect(formatRows(TEST_ONLY, 'preference')).toEqual({ train: 0, test: 4 })
  })
})

describe('model filters', () => {
  it('offers as base model the models whose kind and task the kind lists', () => {
    expect(baseModelsForKind(MODELS, DPO).map((m) => m.name)).toEqual(['tiny-gpt2', 'sft-9'])
    expect(baseModelsForKind(MODELS, REWARD).map((m) => m.name)).toEqual(['tiny-gpt2', 'sft-9', 'rm-10', 'tiny-cls'])
    expect(baseModelsForKind(MODELS, { base_model_kinds: ['reward'], base_model_tasks: ['causal-lm'] })).toEqual([])
    expect(rewardModels(MODELS).map((m) => m.name)).toEqual(['rm-10'])
  })
})

/** The API for the new-job form: kinds, two projects with their snapshots, the models, and POST answered by `onPost`. */
function fakeApi(onPost: (call: Call) => Response, kinds = [DPO, SFT, PPO]) {
  return stubFetch((call) => {
    const { url, method } = call
    if (url === '/api/training-jobs/kinds/') return json(200, kinds)
    if (url === '/api/projects/') return json(200, { count: 2, next: null, previous: null, results: [{ id: 1, name: 'Pairs' }, { id: 2, name: 'Demos' }] })
    if (url === '/api/projects/1/snapshots/') return json(200, [PAIRS, EMPTY_PAIRS, BUILDING, FAILED_PAIRS])
    if (url === '/api/projects/2/snapshots/') return json(200, [DEMOS])
    // Models come two pages long, to check the `next` link is followed.
    if (url === '/api/models/') return json(200, { count: 4, next: 'http://testserver/api/models/?page=2', previous: null, results: MODELS.slice(0, 2) })
    if (url === '/api/models/?page=2') return json(200, { count: 4, next: null, previous: '…', results: MODELS.slice(2) })
    if (url === '/api/training-jobs/' && method === 'POST') return onPost(call)
    return undefined
  })
}

const options = (label: string) => [...(screen.getByLabelText(label) as HTMLSelectElement).options].map((o) => o.textContent)
const choose = (label: string, text: string) => {
  const select = screen.getByLabelText(label) as HTMLSelectElement
  const option = [...select.options].find((o) => o.textContent?.startsWith(text))
  if (!option) throw new Error(`no option ${text} in ${label}: ${options(label).join(' | ')}`)
  fireEvent.change(select, { target: { value: option.value } })
}

describe('NewJobPage', () => {
  beforeEach(() => window.history.replaceState(null, '', '/training/new'))

  it('offers only the snapshots and models that fit the chosen kind', async () => {
    fakeApi(() => json(500, {}))
    renderWithSession(<NewJobPage />)
    await waitFor(() => expect(options('Snapshot').length).toBe(2))
    expect(options('Snapshot')).toEqual(['Choose a snapshot', `#3 · Pairs · 45 preference rows (train 40, test 5) · ffffffff`])
    await waitFor(() => expect(options('Base model')).toEqual(['Choose a model', 'tiny-gpt2 · base · GPT2LMHeadModel · 124M', 'sft-9 · policy · GPT2LMHeadModel · 124M']))
    expect(options('Reference model')[0]).toBe('Same as the base model')
    expect(screen.queryByLabelText('Reward model')).toBeNull()

    choose('Kind', 'Supervised')
    expect(options('Snapshot')).toEqual(['Choose a snapshot', `#4 · Demos · 30 sft rows (train 30) · ffffffff`])
    expect(screen.queryByLabelText('Reference model')).toBeNull()
    expect((screen.getByLabelText('learning_rate') as HTMLInputElement).value).toBe('0.00002')

    choose('Kind', 'PPO')
    expect(options('Snapshot').slice(1).map((o) => o?.split(' · ')[0])).toEqual(['#5', '#4', '#3'])
    expect(options('Reward model')).toEqual(['Choose a reward model', 'rm-10 · reward · GPT2ForSequenceClassification · 124M'])
  })

  it('sends the choices and the changed settings, and puts the server’s errors next to their fields', async () => {
    const posts: unknown[] = []
    let answer = () => json(400, { errors: [{ field: 'config.beta', message: 'beta must be below 1 for this loss' }, { field: 'snapshot', message: 'the snapshot changed' }, { field: null, message: 'the queue is full' }] })
    fakeApi((call) => (posts.push(call.body), answer()))
    renderWithSession(<NewJobPage />)
    await waitFor(() => expect(options('Snapshot').length).toBe(2))
    await waitFor(() => expect(options('Base model').length).toBe(3))

    fireEvent.click(screen.getByRole('button', { name: 'Start training' }))
    expect(screen.getByText('Choose a snapshot.')).toBeTruthy()
    expect(screen.getByText('Choose the model to start from.')).toBeTruthy()
    expect(posts).toEqual([])

    choose('Snapshot', '#3')
    choose('Base model', 'sft-9')
    choose('Reference model', 'tiny-gpt2')
    fireEvent.change(screen.getByLabelText('beta'), { target: { value: '2' } })
    fireEvent.change(screen.getByLabelText('max_steps'), { target: { value: '20' } })
    fireEvent.click(screen.getByRole('button', { name: 'Start training' }))
    await waitFor(() => expect(posts.length).toBe(1))
    expect(posts[0]).toEqual({ kind: 'dpo', snapshot: 3, base_model: 2, reference_model: 1, config: { beta: 2, max_steps: 20 } })

    const beta = screen.getByLabelText('beta')
    await waitFor(() => expect(beta.getAttribute('aria-invalid')).toBe('true'))
    expect(within(beta.closest('[data-field]') as HTMLElement).getByText('beta must be below 1 for this loss')).toBeTruthy()
    expect(screen.getByLabelText('Snapshot').getAttribute('aria-invalid')).toBe('true')
    expect(screen.getByText('the snapshot changed')).toBeTruthy()
    expect(screen.getByRole('alert').textContent).toContain('the queue is full')
    expect(screen.getByRole('alert').textContent).not.toContain('beta must be below 1')

    answer = () => json(201, job(31, { status: 'queued' }))
    fireEvent.change(beta, { target: { value: '0.5' } })
    fireEvent.click(screen.getByRole('button', { name: 'Start training' }))
    await waitFor(() => expect(window.location.pathname).toBe('/training/31'))
    expect(posts[1]).toEqual({ kind: 'dpo', snapshot: 3, base_model: 2, reference_model: 1, config: { beta: 0.5, max_steps: 20 } })
  })

  it('asks PPO for a reward model, offers DPO one optionally and sends it only when chosen', async () => {
    const posts: unknown[] = []
    fakeApi((call) => (posts.push(call.body), json(201, job(40 + posts.length, { status: 'queued' }))), [DPO_WITH_RM, PPO, EVALUATE])
    renderWithSession(<NewJobPage />)
    await waitFor(() => expect(options('Reward model')).toEqual(['None', 'rm-10 · reward · GPT2ForSequenceClassification · 124M']))
    expect(screen.getByTestId('kind-output').textContent).toBe('Registers a policy model.')
    await waitFor(() => expect(options('Snapshot').length).toBe(2))
    choose('Snapshot', '#3')
    choose('Base model', 'sft-9')
    fireEvent.click(screen.getByRole('button', { name: 'Start training' }))
    await waitFor(() => expect(posts.length).toBe(1))
    expect(posts[0]).toEqual({ kind: 'dpo', snapshot: 3, base_model: 2, config: {} })

    window.history.replaceState(null, '', '/training/new')
    choose('Kind', 'PPO')
    choose('Snapshot', '#3')
    fireEvent.click(screen.getByRole('button', { name: 'Start training' }))
    expect(screen.getByText('Choose a reward model.')).toBeTruthy()
    expect(posts.length).toBe(1)
    choose('Reward model', 'rm-10')
    fireEvent.click(screen.getByRole('button', { name: 'Start training' }))
    await waitFor(() => expect(posts.length).toBe(2))
    expect(posts[1]).toEqual({ kind: 'ppo', snapshot: 3, base_model: 2, reward_model: 3, config: {} })

    window.history.replaceState(null, '', '/training/new')
    choose('Kind', 'DPO')
    choose('Reward model', 'rm-10')
    fireEvent.click(screen.getByRole('button', { name: 'Start training' }))
    await waitFor(() => expect(posts.length).toBe(3))
    expect(posts[2]).toEqual({ kind: 'dpo', snapshot: 3, base_model: 2, reward_model: 3, config: {} })
  })

  it('says an evaluate job registers no model and that its reference defaults to the policy’s parent', async () => {
    fakeApi(() => json(500, {}), [EVALUATE])
    renderWithSession(<NewJobPage />)
    await waitFor(() => expect(options('Reward model').length).toBe(2))
    expect(screen.getByTestId('kind-output').textContent).toBe('Registers no model: it writes an evaluation.')
    expect(options('Reference model')[0]).toBe('The policy’s parent')
    expect(screen.getByText(/the policy to evaluate/)).toBeTruthy()
  })

  it('leaves out the snapshot and base model pickers for a kind that takes neither, and offers an optional snapshot as such', async () => {
    const AI: TrainingKind = { ...REWARD, kind: 'ai_annotate', label: 'AI annotator', snapshot_format: '', snapshot: 'none', base_model: false, reward_model: true, output_kind: '',
      schema: { properties: { project: { type: ['integer', 'null'], default: null, description: 'The project to answer.' } } } }
    const GENERATE: TrainingKind = { ...DPO, kind: 'generate', label: 'Generate a round', snapshot_format: 'prompts', snapshot: 'optional', reference_model: false, output_kind: '', schema: { properties: {} } }
    const posts: unknown[] = []
    fakeApi((call) => (posts.push(call.body), json(201, job(60, { status: 'queued' }))), [AI, GENERATE])
    renderWithSession(<NewJobPage />)
    await waitFor(() => expect(options('Reward model').length).toBe(2))
    expect(screen.queryByLabelText('Snapshot')).toBeNull()
    expect(screen.queryByLabelText('Base model')).toBeNull()
    expect(screen.getByTestId('kind-description').textContent).toContain('Rounds tab')
    choose('Reward model', 'rm-10')
    fireEvent.change(screen.getByLabelText('project'), { target: { value: '1' } })
    fireEvent.click(screen.getByRole('button', { name: 'Start training' }))
    await waitFor(() => expect(posts.length).toBe(1))
    expect(posts[0]).toEqual({ kind: 'ai_annotate', reward_model: 3, config: { project: 1 } })

    window.history.replaceState(null, '', '/training/new')
    choose('Kind', 'Generate')
    await waitFor(() => expect(options('Snapshot')[0]).toBe('None'))
    choose('Base model', 'sft-9')
    fireEvent.click(screen.getByRole('button', { name: 'Start training' }))
    await waitFor(() => expect(posts.length).toBe(2))
    expect(posts[1]).toEqual({ kind: 'generate', base_model: 2, config: {} })
  })

  it('tells a lead that only admins start jobs', () => {
    stubFetch(() => undefined)
    renderWithSession(<NewJobPage />, { staff: false })
    expect(screen.getByText(/Only admins start training jobs/)).toBeTruthy()
    expect(screen.queryByRole('button', { name: 'Start training' })).toBeNull()
  })
})
