import { fireEvent, render, screen } from '@testing-library/react'
import { describe, expect, it, vi } from 'vitest'
import type { Project } from '../lib/types'
import { RankingTask } from './RankingTask'

const project = { id: 1, kind: 'ranking', allow_tie: false, criteria: [] } as unknown as Project

describe('RankingTask keyboard', () => {
  it('reorders with number + arrows and submits best first on Enter', () => {
    const onSubmit = vi.fn()
    render(
      <RankingTask
        project={project}
        active
        errors={[]}
        onSubmit={onSubmit}
        assignment={{
          assignment: 3,
          expires_at: '',
          item: { id: 1, conversation: [], responses: [{ id: 7, text: 'seven' }, { id: 8, text: 'eight' }, { id: 9, text: 'nine' }] },
        }}
      />,
    )
    const press = (key: string) => fireEvent.keyDown(document.body, { key })
    press('3')
    press('ArrowUp')
    press('ArrowUp')
    press('3') // now "eight"
    press('ArrowUp')
    expect(screen.getByText(/^Order:/).textContent).toBe('Order: C > B > A')
    press('Enter')
    expect(onSubmit).toHaveBeenCalledWith({ ranking: [9, 8, 7] })
  })

  it('ties with = when the project allows ties, shows it in the order, and submits groups best first', () => {
    const onSubmit = vi.fn()
    render(
      <RankingTask
        project={{ ...project, allow_tie: true }}
        active
        errors={[]}
        onSubmit={onSubmit}
        assignment={{
          assignment: 4,
          expires_at: '',
          item: { id: 2, conversation: [], responses: [{ id: 7, text: 'seven' }, { id: 8, text: 'eight' }, { id: 9, text: 'nine' }] },
        }}
      />,
    )
    expect(screen.getByText(/ties it with the card above/)).toBeTruthy()
    const press = (key: string) => fireEvent.keyDown(document.body, { key })
    press('2')
    press('=')
    expect(screen.getByText(/^Order:/).textContent).toBe('Order: A = B > C')
    expect(document.querySelectorAll('[data-tied]').length).toBe(1)
    press('Enter')
    expect(onSubmit).toHaveBeenCalledWith({ ranking: [[7, 8], [9]] })
  })

  it('has no tie key where ties are not allowed', () => {
    const onSubmit = vi.fn()
    render(
      <RankingTask
        project={project}
        active
        errors={[]}
        onSubmit={onSubmit}
        assignment={{ assignment: 5, expires_at: '', item: { id: 3, conversation: [], responses: [{ id: 1, text: 'one' }, { id: 2, text: 'two' }] } }}
      />,
    )
    expect(screen.queryByText(/ties it with the card above/)).toBeNull()
    fireEvent.keyDown(document.body, { key: '2' })
    fireEvent.keyDown(document.body, { key: '=' })
    fireEvent.keyDown(document.body, { key: 'Enter' })
    expect(onSubmit).toHaveBeenCalledWith({ ranking: [1, 2] })
  })
})
