import { fireEvent, render, screen } from '@testing-library/react'
import { describe, expect, it, vi } from 'vitest'
import type { Project } from '../lib/types'
import { RankingTask } from './RankingTask'

const project = { id: 1, kind: 'ranking', allow_tie: false, criteria: [] } as unknown as Project

const THREE = [{ id: 7, text: 'seven' }, { id: 8, text: 'eight' }, { id: 9, text: 'nine' }]

/** The task on one item of these responses; answers the submit spy. */
function renderRanking(responses: { id: number; text: string }[], projectOf: Project = project) {
  const onSubmit = vi.fn()
  render(<RankingTask project={projectOf} active errors={[]} onSubmit={onSubmit} assignment={{ assignment: 3, expires_at: '', item: { id: 1, conversation: [], responses } }} />)
  return onSubmit
}

const press = (key: string, init: KeyboardEventInit = {}) => fireEvent.keyDown(document.body, { key, ...init })

describe('RankingTask keyboard', () => {
  it('reorders with number + arrows and submits best first on Enter', () => {
    const onSubmit = renderRanking(THREE)
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
    const onSubmit = renderRanking(THREE, { ...project, allow_tie: true })
    expect(screen.getByText(/ties it with the card above/)).toBeTruthy()
    press('2')
    press('=')
    expect(screen.getByTestId('ranking-order').textContent).toBe('Order: A = B > C')
    expect(document.querySelectorAll('[data-tied]').length).toBe(1)
    press('Enter')
    expect(onSubmit).toHaveBeenCalledWith({ ranking: [[7, 8], [9]] })
  })

  it('has no tie key where ties are not allowed', () => {
    const onSubmit = renderRanking([{ id: 1, text: 'one' }, { id: 2, text: 'two' }])
    expect(screen.queryByText(/ties it with the card above/)).toBeNull()
    press('2')
    press('=')
    press('c')
    press('Enter')
    expect(onSubmit).toHaveBeenCalledWith({ ranking: [1, 2] })
  })
})

describe('RankingTask submits only an order the annotator made or confirmed', () => {
  const renderTask = () => renderRanking([{ id: 1, text: 'one' }, { id: 2, text: 'two' }, { id: 3, text: 'three' }])

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
