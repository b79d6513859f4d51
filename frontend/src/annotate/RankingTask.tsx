import { useEffect, useRef, useState, type DragEvent } from 'react'
import { FieldErrors } from '../components/Banners'
import { Markdown } from '../components/Markdown'
import { isPlainKey, useKeydown } from '../lib/keyboard'
import { Conversation } from './Conversation'
import { moveCard, rankingGroups, rankingKey, rankingPayload, toggleTie, type RankingState } from './ranking'
import { readingPanel, revealAboveBar, scrollReading } from './scrolling'
import { enterSubmits, isHeld, type TaskProps } from './taskTypes'

const LETTERS = 'ABCDEFGHIJ'

export function RankingTask({ project, assignment, onSubmit, active, errors }: TaskProps) {
  const { item } = assignment
  const byId = new Map(item.responses.map((r, i) => [r.id, { ...r, letter: LETTERS[i] ?? String(i + 1) }]))
  const [state, setState] = useState<RankingState>({ order: item.responses.map((r) => r.id), selected: null })
  const [dragging, setDragging] = useState<number | null>(null)
  const [dropIndex, setDropIndex] = useState<number | null>(null)
  const allowTie = project.allow_tie
  const tied = new Set(state.tied ?? [])
  // Enter on the order as shown would save it without a look: the annotator moves a card or says it is right.
  const [confirmed, setConfirmed] = useState(false)
  const [hint, setHint] = useState('')
  const list = useRef<HTMLOListElement>(null)
  const cardBody = (id: number | null) => list.current?.querySelector<HTMLElement>(`[data-response="${id}"] .rank-body`) ?? null

  useEffect(() => {
    if (state.selected !== null) revealAboveBar(list.current?.querySelector(`[data-response="${state.selected}"]`) ?? null)
  }, [state.selected, state.order])

  function submit() {
    if (!state.moved && !confirmed) {
      setHint('Move a card first, or press C if this order is right.')
      return
    }
    onSubmit(rankingPayload(state))
  }

  function confirm() {
    setConfirmed((v) => !v)
    setHint('')
  }

  useKeydown((event) => {
    if (!isPlainKey(event)) return
    if (event.key === 'Enter') {
      if (!enterSubmits(event.target)) return
      event.preventDefault()
      if (!isHeld(event)) submit()
      return
    }
    if ((event.key === 'c' || event.key === 'C') && !isHeld(event)) {
      confirm()
      return
    }
    const next = rankingKey(state, event.key, allowTie)
    if (next) {
      event.preventDefault() // arrows would scroll the page
      setState(next)
      setHint('')
    } else {
      scrollReading(event, [cardBody(state.selected), readingPanel()])
    }
  }, active)

  function move(id: number, delta: number) {
    setState((s) => moveCard(s, id, s.order.indexOf(id) + delta))
    setHint('')
  }

  function tieWithAbove(id: number) {
    setState((s) => toggleTie({ ...s, selected: id }) ?? s)
  }

  function onDragOver(event: DragEvent, index: number) {
    if (dragging === null) return
    event.preventDefault()
    event.dataTransfer.dropEffect = 'move'
    const box = event.currentTarget.getBoundingClientRect()
    const after = event.clientY > box.top + box.height / 2
    setDropIndex(index + (after ? 1 : 0))
  }

  function onDrop(event: DragEvent) {
    event.preventDefault()
    if (dragging !== null && dropIndex !== null) {
      setState((s) => {
        const from = s.order.indexOf(dragging)
        return moveCard(s, dragging, dropIndex > from ? dropIndex - 1 : dropIndex)
      })
    }
    setDragging(null)
    setDropIndex(null)
  }

  return (
    <div className="task task-ranking" data-assignment={assignment.assignment} data-item={item.id}>
      <Conversation turns={item.conversation} />
      <p className="task-instructions">
        Order the responses <strong>best first</strong>. Drag a card, or press its number <kbd>1</kbd>–<kbd>{state.order.length}</kbd> then{' '}
        <kbd>↑</kbd>/<kbd>↓</kbd> to move it.{' '}
        {allowTie && (
          <>
            <kbd>=</kbd> ties it with the card above (again unties).{' '}
          </>
        )}
        <kbd>Enter</kbd> submits once you have moved a card, or pressed <kbd>C</kbd> to say the order as shown is right.
      </p>
      <ol ref={list} className="rank-list" aria-label="Ranking, best first" onDrop={onDrop} onDragOver={(e) => dragging !== null && e.preventDefault()}>
        {state.order.map((id, index) => {
          const response = byId.get(id)!
          const selected = state.selected === id
          const classes = ['rank-card', selected && 'selected', dragging === id && 'dragging', dropIndex === index && 'drop-before', dropIndex === index + 1 && index === state.order.length - 1 && 'drop-after']
          return (
            <li
              key={id}
              className={classes.filter(Boolean).join(' ')}
              draggable
              aria-selected={selected}
              data-response={id}
              onDragStart={(e) => {
                setDragging(id)
                e.dataTransfer.effectAllowed = 'move'
                e.dataTransfer.setData('text/plain', String(id))
              }}
              onDragEnd={() => (setDragging(null), setDropIndex(null))}
              onDragOver={(e) => onDragOver(e, index)}
              onClick={() => setState((s) => ({ ...s, selected: id }))}
            >
              <div className="rank-side">
                <span className="rank-pos" aria-label={`Rank ${index + 1}`}>
                  {index + 1}
                </span>
                <span className="drag-handle" aria-hidden="true">
                  ⋮⋮
                </span>
              </div>
              <div className="rank-body">
                <header className="response-head">
                  Response {response.letter}
                  {tied.has(id) && (
                    <span className="tag" data-tied="above">
                      = tied with above
                    </span>
                  )}
                  <span className="rank-buttons">
                    {allowTie && index > 0 && (
                      <button type="button" className="btn btn-ghost btn-sm" aria-pressed={tied.has(id)} aria-label={`Tie response ${response.letter} with the one above`} onClick={(e) => (e.stopPropagation(), tieWithAbove(id))}>
                        =
                      </button>
                    )}
                    <button type="button" className="btn btn-ghost btn-sm" aria-label={`Move response ${response.letter} up`} disabled={index === 0} onClick={(e) => (e.stopPropagation(), move(id, -1))}>
                      ↑
                    </button>
                    <button type="button" className="btn btn-ghost btn-sm" aria-label={`Move response ${response.letter} down`} disabled={index === state.order.length - 1} onClick={(e) => (e.stopPropagation(), move(id, 1))}>
                      ↓
                    </button>
                  </span>
                </header>
                <Markdown>{response.text}</Markdown>
              </div>
            </li>
          )
        })}
      </ol>
      <div className="decision-bar">
        <div className="decision-row">
          <span className="decision-summary" aria-live="polite">
            <span data-testid="ranking-order">Order: {rankingGroups(state).map((group) => group.map((id) => byId.get(id)!.letter).join(' = ')).join(' > ')}</span>
            {hint && <span className="form-error"> {hint}</span>}
          </span>
          {!state.moved && (
            <button type="button" className={confirmed ? 'btn confirm-order on' : 'btn confirm-order'} aria-pressed={confirmed} data-enter-submits="" onClick={confirm}>
              <kbd>C</kbd> This order is right
            </button>
          )}
          <button type="button" className="btn btn-primary" onClick={submit} disabled={!active}>
            Submit ranking <kbd>Enter</kbd>
          </button>
        </div>
        <FieldErrors errors={errors} />
      </div>
    </div>
  )
}
