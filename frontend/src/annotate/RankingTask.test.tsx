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
})
