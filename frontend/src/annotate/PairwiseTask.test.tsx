import { fireEvent, render, screen } from '@testing-library/react'
import { describe, expect, it, vi } from 'vitest'
import type { NextAssignment, Project } from '../lib/types'
import { PairwiseTask } from './PairwiseTask'

const project = (over: Partial<Project> = {}): Project => ({
  id: 1,
  name: 'P',
  kind: 'pairwise',
  guidelines: '',
  annotations_per_item: 3,
  ranking_size: null,
  allow_tie: true,
  criteria: ['helpfulness'],
  gold_ratio: 0,
  lease_seconds: 600,
  role: 'annotator',
  created_at: '',
  ...over,
})

const assignment: NextAssignment = {
  assignment: 9,
  expires_at: '',
  item: {
    id: 5,
    conversation: [{ role: 'user', content: 'Hi' }],
    responses: [
      { id: 31, text: 'first shown' },
      { id: 30, text: 'second shown' },
    ],
  },
}

function setup(over: Partial<Project> = {}) {
  const onSubmit = vi.fn()
  render(<PairwiseTask project={project(over)} assignment={assignment} onSubmit={onSubmit} active errors={[]} />)
  const press = (key: string, init: KeyboardEventInit = {}) => fireEvent.keyDown(document.body, { key, ...init })
  return { onSubmit, press }
}

describe('PairwiseTask keyboard', () => {
  it('submits the chosen response and strength for key 2 then Enter', () => {
    const { onSubmit, press } = setup()
    press('2')
    press('Enter')
    expect(onSubmit).toHaveBeenCalledWith({ chosen: 31, strength: 2 })
  })

  it('maps key 7 to the second response shown, much better, with both-bad toggled by B', () => {
    const { onSubmit, press } = setup()
    press('7')
    press('b')
    press('Enter')
    expect(onSubmit).toHaveBeenCalledWith({ chosen: 30, strength: 3, both_bad: true })
  })

  it('does nothing on key 4 when the project has no tie', () => {
    const { onSubmit, press } = setup({ allow_tie: false })
    expect(screen.queryByRole('radio', { name: /tie/i })).toBeNull()
    press('4')
    press('Enter')
    expect(onSubmit).not.toHaveBeenCalled()
    expect(screen.getByText(/choose a point on the scale/i)).toBeTruthy()
  })

  it('sends a tie on key 4 when ties are allowed', () => {
    const { onSubmit, press } = setup()
    press('4')
    press('Enter')
    expect(onSubmit).toHaveBeenCalledWith({ tie: true })
  })

  it('leaves digits typed in the rationale alone and submits it with Ctrl+Enter', () => {
    const { onSubmit, press } = setup()
    press('3')
    const textarea = screen.getByPlaceholderText(/why is one response better/i)
    fireEvent.change(textarea, { target: { value: 'A cites 2 sources' } })
    fireEvent.keyDown(textarea, { key: '6' })
    fireEvent.keyDown(textarea, { key: 'Enter' })
    expect(onSubmit).not.toHaveBeenCalled()
    fireEvent.keyDown(textarea, { key: 'Enter', ctrlKey: true })
    expect(onSubmit).toHaveBeenCalledWith({ chosen: 31, strength: 1, rationale: 'A cites 2 sources' })
  })

  it('adds criteria in the same form as the overall choice', () => {
    const { onSubmit, press } = setup()
    fireEvent.click(screen.getByRole('radio', { name: 'B clearly better' }))
    // the overall scale's buttons carry "(key N)" in their names; the criterion's do not
    fireEvent.click(screen.getByRole('radio', { name: 'A much better (key 1)' }))
    press('Enter')
    expect(onSubmit).toHaveBeenCalledWith({ chosen: 31, strength: 3, criteria: { helpfulness: { chosen: 30, strength: 2 } } })
  })
})
