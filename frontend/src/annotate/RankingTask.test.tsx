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
    expect(screen.getByTestId('ranking-order').textContent).toBe('Order: C > B > A')
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
    expect(screen.getByTestId('ranking-order').textContent).toBe('Order: A = B > C')
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
    fireEvent.keyDown(document.body, { key: 'c' })
    fireEvent.keyDown(document.body, { key: 'Enter' })
    expect(onSubmit).toHaveBeenCalledWith({ ranking: [1, 2] })
  })
})

describe('RankingTask submits only an order the annotator made or confirmed', () => {
  const renderTask = () => {
    const onSubmit = vi.fn()
    const item = { id: 4, conversation: [], responses: [{ id: 1, text: 'one' }, { id: 2, text: 'two' }, { id: 3, text: 'three' }] }
    render(<RankingTask project={project} active errors={[]} onSubmit={onSubmit} assignment={{ assignment: 6, expires_at: '', item }} />)
    return onSubmit
  }
  const press = (key: string, init: KeyboardEventInit = {}) => fireEvent.keyDown(document.body, { key, ...init })

  it('refuses Enter on the untouched order and says what to do', () => {
    const onSubmit = renderTask()
    press('Enter')
    fireEvent.click(screen.getByRole('button', { name: /Submit ranking/ }))
    expect(onSubmit).not.toHaveBeenCalled()
    expect(screen.getByText(/press C if this order is right/)).toBeTruthy()
  })

  it('takes the shown order once confirmed with C or the button, and unconfirms on a second press', () => {
    const onSubmit = renderTask()
    press('c')
    press('C')
    press('Enter')
    expect(onSubmit).not.toHaveBeenCalled()
    fireEvent.click(screen.getByRole('button', { name: /This order is right/ }))
    expect(screen.getByRole('button', { name: /This order is right/ }).getAttribute('aria-pressed')).toBe('true')
    press('Enter')
    expect(onSubmit).toHaveBeenCalledExactlyOnceWith({ ranking: [1, 2, 3] })
  })

  it('selecting a card is not a move, but one move is enough', () => {
    const onSubmit = renderTask()
    press('1')
    press('ArrowUp') // already on top: nothing moved
    press('Enter')
    expect(onSubmit).not.toHaveBeenCalled()
    press('ArrowDown')
    expect(screen.queryByRole('button', { name: /This order is right/ })).toBeNull()
    press('Enter')
    expect(onSubmit).toHaveBeenCalledWith({ ranking: [2, 1, 3] })
  })

  it('ignores a held Enter: one press, one answer', () => {
    const onSubmit = renderTask()
    press('3')
    press('ArrowUp')
    press('Enter', { repeat: true })
    expect(onSubmit).not.toHaveBeenCalled()
    press('Enter')
    press('Enter', { repeat: true })
    press('Enter', { repeat: true })
    expect(onSubmit).toHaveBeenCalledTimes(1)
  })

  it('scrolls the selected card into view above the decision bar', () => {
    const seen: { id: string | undefined; margin: string; block: unknown }[] = []
    Element.prototype.scrollIntoView = function (this: HTMLElement, options?: boolean | ScrollIntoViewOptions) {
      seen.push({ id: this.dataset.response, margin: this.style.scrollMarginBottom, block: (options as ScrollIntoViewOptions)?.block })
    }
    try {
      renderTask()
      press('3')
      press('ArrowUp')
      expect(seen.at(-1)).toMatchObject({ id: '3', block: 'nearest' })
      expect(seen.at(-1)!.margin).toMatch(/^\d+px$/)
    } finally {
      delete (Element.prototype as Partial<Element>).scrollIntoView
    }
  })
})
