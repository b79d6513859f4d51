import type { Dispatch, SetStateAction } from 'react'
import { moveBy } from '../annotate/ranking'
import { letter } from './answers'

/** A ranking a lead sets by moving responses up and down (letters by stored order), best first. */
export function OrderList({ ids, order, setOrder, label }: { ids: number[]; order: number[]; setOrder: Dispatch<SetStateAction<number[]>>; label: string }) {
  return (
    <ol className="gold-ranking" aria-label={label}>
      {order.map((id, i) => (
        <li key={id}>
          <span>
            Response {letter(ids.indexOf(id))} <span className="muted">#{id}</span>
          </span>
          <button type="button" className="btn btn-ghost btn-sm" disabled={i === 0} aria-label={`Move response ${letter(ids.indexOf(id))} up`} onClick={() => setOrder((o) => moveBy(o, i, -1))}>
            ↑
          </button>
          <button type="button" className="btn btn-ghost btn-sm" disabled={i === order.length - 1} aria-label={`Move response ${letter(ids.indexOf(id))} down`} onClick={() => setOrder((o) => moveBy(o, i, 1))}>
            ↓
          </button>
        </li>
      ))}
    </ol>
  )
}
