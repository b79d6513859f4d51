// Which model's answers the annotators prefer: Bradley–Terry strengths over the project's answers
// on generated pairs, strongest first, each with its confidence interval drawn on one shared scale.
import { formatTick } from '../format'
import type { TrainedModel } from '../types'
import { Problem } from './parts'
import { useModelStrengths } from './queries'
import type { ModelStrength, StrengthModel } from './types'
import { apiPaths } from '../../lib/paths'

export function strengthModelName(model: StrengthModel, names: Map<number, string>): { id: number | null; name: string } {
  if (typeof model === 'number') return { id: model, name: names.get(model) ?? `model #${model}` }
  if (typeof model === 'string') return { id: null, name: model }
  return { id: model.id, name: model.name ?? names.get(model.id) ?? `model #${model.id}` }
}

/** Ties count half, as in the strengths themselves. */
export function winRate(s: Pick<ModelStrength, 'wins' | 'ties' | 'comparisons'>): number | null {
  return s.comparisons > 0 ? (s.wins + s.ties / 2) / s.comparisons : null
}

export function ModelStrengthsSection({ projectId, models }: { projectId: number; models: TrainedModel[] }) {
  const strengths = useModelStrengths(projectId)
  const names = new Map(models.map((m) => [m.id, m.name]))
  const rows = [...(strengths.data?.models ?? [])].sort((a, b) => b.strength - a.strength)
  return (
    <section className="card" aria-labelledby="model-strengths" data-testid="model-strengths">
      <h2 id="model-strengths">Model strengths</h2>
      <p className="small muted">
        Bradley–Terry strengths from the annotators’ answers on items that compare two models’ responses (higher: preferred more often), with 95% confidence intervals; overlapping intervals mean the
        answers do not yet tell the two models apart. Win rate counts a tie as half a win.
      </p>
      {strengths.error != null && <Problem error={strengths.error} what="The model strengths table" endpoint={`GET ${apiPaths.modelStrengths(projectId)}`} />}
      {strengths.isPending && <p className="muted small">Loading…</p>}
      {strengths.data && rows.length === 0 && <p className="muted small">No answers on generated pairs yet: launch a round from the Rounds tab and annotate it.</p>}
      {rows.length > 0 && <StrengthsTable rows={rows} names={names} />}
    </section>
  )
}

function StrengthsTable({ rows, names }: { rows: ModelStrength[]; names: Map<number, string> }) {
  const values = rows.flatMap((r) => [r.strength, r.ci_low, r.ci_high]).filter((v): v is number => typeof v === 'number' && Number.isFinite(v))
  const lo = Math.min(...values)
  const hi = Math.max(...values)
  const scale = (v: number) => (hi > lo ? ((v - lo) / (hi - lo)) * 100 : 50)
  return (
    <div className="table-wrap">
      <table className="table table-compact strengths-table" data-testid="strengths-table">
        <thead>
          <tr>
            <th className="num">#</th>
            <th>Model</th>
            <th className="num">Strength</th>
            <th className="num">95% interval</th>
            <th className="strength-bar-col">
              <span className="sr-only">Interval on a shared scale</span>
            </th>
            <th className="num">Wins</th>
            <th className="num">Losses</th>
            <th className="num">Ties</th>
            <th className="num">Comparisons</th>
            <th className="num">Win rate</th>
          </tr>
        </thead>
        <tbody>
          {rows.map((r, i) => {
            const { id, name } = strengthModelName(r.model, names)
            const rate = winRate(r)
            return (
              <tr key={id ?? name} data-model={id ?? undefined}>
                <td className="num">{i + 1}</td>
                <td>
                  <strong>{name}</strong>
                </td>
                <td className="num">{formatTick(r.strength)}</td>
                <td className="num">{r.ci_low != null && r.ci_high != null ? `${formatTick(r.ci_low)} – ${formatTick(r.ci_high)}` : '—'}</td>
                <td className="strength-bar-col" aria-hidden="true">
                  <svg className="strength-bar" viewBox="0 0 100 12" preserveAspectRatio="none">
                    <line x1="0" x2="100" y1="6" y2="6" className="strength-axis" />
                    {r.ci_low != null && r.ci_high != null && <rect x={scale(r.ci_low)} width={Math.max(0.8, scale(r.ci_high) - scale(r.ci_low))} y="3" height="6" className="strength-ci" />}
                    <rect x={scale(r.strength) - 0.8} width="1.6" y="1" height="10" className="strength-point" />
                  </svg>
                </td>
                <td className="num">{r.wins}</td>
                <td className="num">{r.losses}</td>
                <td className="num">{r.ties}</td>
                <td className="num">{r.comparisons}</td>
                <td className="num">{rate == null ? '—' : `${Math.round(rate * 100)}%`}</td>
              </tr>
            )
          })}
        </tbody>
      </table>
    </div>
  )
}
