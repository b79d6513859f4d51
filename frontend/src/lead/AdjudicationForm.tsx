import { useState } from 'react'
import { FieldErrors } from '../components/Banners'
import { ScaleBar } from '../annotate/ScaleBar'
import { pointToChoice, type ScalePoint } from '../annotate/scale'
import { api, type FieldError } from '../lib/api'
import type { Project } from '../lib/types'
import { OrderList } from './OrderList'
import { describeAnswer, type LeadItem, type Row } from './answers'
import { rulingPayload, type RulingChoice } from './ruling'
import { apiPaths } from '../lib/paths'
import { useSave } from './useSave'

/** Settle an item: let one submitted answer stand, or give the lead's own, with a note; replace or withdraw it. */
export function AdjudicationForm({ project, item, onSaved }: { project: Project; item: LeadItem; onSaved: () => void }) {
  const ids = (item.responses ?? []).map((r) => r.id)
  const answers = item.answers ?? []
  const ruling = item.adjudication ?? null
  const [choice, setChoice] = useState<RulingChoice>(() => (ruling?.from_answer != null ? { answer: ruling.from_answer } : answers.length ? { answer: Number(answers[0].id) } : { own: true }))
  const [point, setPoint] = useState<ScalePoint | null>(() => (typeof ruling?.preference === 'number' ? ((4 + ruling.preference) as ScalePoint) : null))
  const [order, setOrder] = useState<number[]>(ids)
  const [note, setNote] = useState(ruling?.note ?? '')
  const { errors, setErrors, busy, save: send } = useSave(onSaved)
  const path = apiPaths.adjudication(project.id, item.id)

  async function save() {
    const own = project.kind === 'pairwise' ? (point === null ? null : pointToChoice(point, ids)) : { ranking: order }
    const payload = rulingPayload(choice, own, note)
    if ('error' in payload) return setErrors([payload.error as FieldError])
    await send(() => api.put(path, payload), `Item #${item.id} is settled.`)
  }

  const withdraw = () => send(() => api.delete(path), `The ruling on item #${item.id} is withdrawn.`)

  return (
    <section className="card adjudication-form" aria-labelledby="adjudication-title" data-testid="adjudication">
      <h2 id="adjudication-title">Settle this item</h2>
      <p className="muted small">
        The answer you choose stands as this item's consensus in curation and snapshots (unless the curation rule “Lead rulings” is set to ignore them).
      </p>
      {ruling && (
        <div className="ruling" data-testid="ruling">
          <strong>Settled:</strong> {describeAnswer(ruling as unknown as Row, ids)} — “{ruling.note}”
          <div className="muted small">
            by {ruling.decided_by ?? 'someone removed'} on {new Date(ruling.decided_at).toLocaleString()}
            {ruling.from_answer != null && ` · ${answerOwner(answers, ruling.from_answer)}'s answer`}
          </div>
        </div>
      )}
      <fieldset className="ruling-choices">
        <legend className="small">The answer that stands</legend>
        {answers.map((a) => (
          <label key={String(a.id)} className="radio">
            <input type="radio" name="ruling" checked={'answer' in choice && choice.answer === Number(a.id)} onChange={() => setChoice({ answer: Number(a.id) })} />
            {String(a.annotator)}: {describeAnswer(a, ids) || '—'}
          </label>
        ))}
        <label className="radio">
          <input type="radio" name="ruling" checked={'own' in choice} onChange={() => setChoice({ own: true })} />
          My own answer
        </label>
      </fieldset>
      {'own' in choice && project.kind === 'pairwise' && ids.length === 2 && (
        <ScaleBar label="Your preference (A is the first stored response)" allowTie={project.allow_tie} value={point} onChange={setPoint} />
      )}
      {'own' in choice && project.kind === 'ranking' && (
        <OrderList ids={ids} order={order} setOrder={setOrder} label="Your ranking, best first" />
      )}
      <label className="field">
        Note (why this answer stands)
        <textarea name="note" rows={2} value={note} onChange={(e) => setNote(e.target.value)} maxLength={2000} />
      </label>
      <FieldErrors errors={errors} />
      <div className="card-actions">
        <button type="button" className="btn btn-primary" disabled={busy} onClick={save}>
          {ruling ? 'Replace ruling' : 'Settle item'}
        </button>
        {ruling && (
          <button type="button" className="btn" disabled={busy} onClick={withdraw}>
            Withdraw ruling
          </button>
        )}
      </div>
    </section>
  )
}

function answerOwner(answers: Record<string, unknown>[], id: number): string {
  return String(answers.find((a) => Number(a.id) === id)?.annotator ?? `answer #${id}`)
}
