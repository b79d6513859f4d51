import { useState } from 'react'
import { FieldErrors } from '../components/Banners'
import { ScaleBar } from '../annotate/ScaleBar'
import { pointToChoice, type ScalePoint } from '../annotate/scale'
import { api } from '../lib/api'
import type { Project } from '../lib/types'
import { OrderList } from './OrderList'
import type { LeadItem } from './answers'
import { apiPaths } from '../lib/paths'
import { useSave } from './useSave'

/** Mark an item gold with its expected answer, sent in the submit payload form (A = first stored response). */
export function GoldForm({ project, item, onSaved }: { project: Project; item: LeadItem; onSaved: () => void }) {
  const ids = (item.responses ?? []).map((r) => r.id)
  const gold = item.gold_answer
  const [point, setPoint] = useState<ScalePoint | null>(() => (typeof gold === 'number' ? ((4 + gold) as ScalePoint) : null))
  // A tied gold ranking is shown (and saved again) in its stored order, ties broken by id.
  const [order, setOrder] = useState<number[]>(() => (Array.isArray(gold) ? (gold as (number | number[])[]).flat() : ids))
  const { errors, setErrors, busy, save: send } = useSave(onSaved)

  function expected(): Record<string, unknown> | null {
    if (project.kind === 'pairwise') return point === null ? null : { ...pointToChoice(point, ids) }
    return { ranking: order }
  }

  async function save(isGold: boolean) {
    const payload = isGold ? expected() : null
    if (isGold && !payload) {
      setErrors([{ field: 'expected', message: 'choose the expected answer on the scale first' }])
      return
    }
    await send(() => api.post(apiPaths.gold(project.id, item.id), isGold ? { is_gold: true, expected: payload } : { is_gold: false }),
      isGold ? `Item #${item.id} is now gold.` : `Item #${item.id} is no longer gold.`)
  }

  return (
    <section className="card gold-form" aria-labelledby="gold-title" data-testid="gold-form">
      <h2 id="gold-title">Gold answer</h2>
      <p className="muted small">Gold items are mixed into annotators' queues; their answers are scored against this expected answer.</p>
      {project.kind === 'pairwise' && ids.length === 2 && (
        <ScaleBar label="Expected preference" allowTie={project.allow_tie} value={point} onChange={setPoint} />
      )}
      {project.kind === 'ranking' && (
        <OrderList ids={ids} order={order} setOrder={setOrder} label="Expected ranking, best first" />
      )}
      <FieldErrors errors={errors} />
      <div className="card-actions">
        <button type="button" className="btn btn-primary" disabled={busy} onClick={() => save(true)}>
          {item.is_gold ? 'Update gold answer' : 'Mark as gold'}
        </button>
        {item.is_gold && (
          <button type="button" className="btn" disabled={busy} onClick={() => save(false)}>
            Unmark gold
          </button>
        )}
      </div>
    </section>
  )
}
