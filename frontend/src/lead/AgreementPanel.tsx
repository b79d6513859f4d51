// Agreement figures for leads. The report is computed by a worker: the API answers 202 while it is
// pending and marks a stale report "refreshing", so the panel polls until it is ready. A 404 (no
// agreement API on this server) shows nothing, and each block renders only when its fields are present.
import { useState } from 'react'
import { formatFigure } from '../components/ui'
import { ApiError } from '../lib/api'
import { useGet } from '../lib/queries'
import { errorText } from '../lib/errors'
import { Link } from 'react-router'
import type { Agreement } from '../lib/types'
import { EXPLANATIONS, LANDIS_KOCH, reading, scaleLine, type Scale } from './figureReadings'
import { apiPaths, withQuery } from '../lib/paths'

interface Report extends Agreement {
  status?: 'pending' | 'ready' | 'refreshing'
  stale?: boolean
  computed_at?: string
  seconds?: number
  n_rankings?: number
  kendall_w?: { mean: number | null; n_items: number }
  item_agreement_histogram?: Histogram
  contested_items?: ContestedRow[]
  over_time?: { date: string; percent_agreement: number | null; n_pairs: number }[]
}

interface ContestedRow {
  item: number
  n_answers?: number
  agreement: number | null
  prompt?: string
}

interface Histogram {
  edges: number[]
  counts: number[]
}

/** Asked again while the worker has not finished the report: 1.5 s after the first answer, half as long again after
 *  each one, at most 10 s (counted over the cached report's answers, so a screen opened again starts slower). */
function agreementPollMs(report: Report | undefined, answers: number): number | false {
  if (!report?.status || report.status === 'ready') return false
  return Math.min(10_000, 1500 * 1.5 ** Math.max(0, answers - 1))
}

/** GET the report, polling while the worker has not finished it; a new question shows nothing until its answer. */
function useAgreement(path: string): { report?: Report; error?: unknown } {
  const { data, error } = useGet<Report>(path, { keepPrevious: false, refetchInterval: agreementPollMs })
  return { report: data, error: error ?? undefined }
}

export function AgreementPanel({ projectId, criteria = [] }: { projectId: number; criteria?: string[] }) {
  const [criterion, setCriterion] = useState('')
  const path = withQuery(apiPaths.agreement(projectId), { criterion })
  const { report, error } = useAgreement(path)
  if (error instanceof ApiError && error.status === 404) return null
  return (
    <section className="card" aria-label="Agreement" data-testid="agreement">
      <div className="row-between">
        <h2>Agreement</h2>
        {criteria.length > 0 && (
          <label className="field-inline small">
            Question
            <select value={criterion} onChange={(e) => setCriterion(e.target.value)}>
              <option value="">Overall preference</option>
              {criteria.map((c) => (
                <option key={c} value={c}>
                  {c}
                </option>
              ))}
            </select>
          </label>
        )}
      </div>
      {error != null && <p className="muted small">Agreement figures are unavailable right now ({errorText(error)}).</p>}
      {!report && !error && <p className="muted small">Loading…</p>}
      {report?.status === 'pending' && <p className="muted small">Computing agreement figures…</p>}
      {report && report.status !== 'pending' && <ReportBody data={report} projectId={projectId} />}
    </section>
  )
}

function ReportBody({ data, projectId }: { data: Report; projectId: number }) {
  const answers = data.n_annotations ?? data.n_rankings
  return (
    <>
      <p className="small muted">
        {data.n_items ?? '—'} items with overlapping answers · {answers ?? '—'} {data.n_rankings != null ? 'rankings' : 'answers'}
        {data.computed_at && ` · computed ${new Date(data.computed_at).toLocaleString()}`}
        {data.status === 'refreshing' && ' · updating with the newest answers…'}
      </p>
      {data.n_items === 0 ? (
        <p className="muted">No item has answers from two annotators yet.</p>
      ) : (
        <>
          <Headlines data={data} />
          <div className="charts">
            <KappaHeatmap data={data} />
            <ItemHistogram histogram={itemHistogram(data)} />
            <OverTime points={data.over_time ?? []} />
          </div>
          <AnnotatorQuality data={data} />
          <Contested rows={data.contested_items ?? []} projectId={projectId} />
        </>
      )}
    </>
  )
}

interface Figure {
  label: string
  value: number | null | undefined
  ci: string[]
}

function Headlines({ data }: { data: Report }) {
  const alpha = data.krippendorff_alpha ?? {}
  const figures: Figure[] = [
    { label: 'Percent agreement', value: data.percent_agreement?.with_ties, ci: ['percent_agreement', 'percent_agreement_with_ties', 'with_ties'] },
    { label: 'Agreement, ties excluded', value: data.percent_agreement?.without_ties, ci: ['percent_agreement_without_ties', 'without_ties'] },
    { label: 'Leave-one-out agreement', value: data.leave_one_out_agreement, ci: ['leave_one_out_agreement', 'leave_one_out'] },
    { label: 'Fleiss κ', value: data.fleiss_kappa, ci: ['fleiss_kappa', 'fleiss'] },
    { label: "Kendall's W (mean per item)", value: data.kendall_w?.mean, ci: ['kendall_w'] },
    { label: 'Krippendorff α (nominal)', value: alpha.nominal, ci: ['krippendorff_alpha_nominal', 'alpha_nominal', 'krippendorff_alpha'] },
    { label: 'Krippendorff α (ordinal)', value: alpha.ordinal, ci: ['krippendorff_alpha_ordinal', 'alpha_ordinal'] },
    { label: 'Krippendorff α (interval)', value: alpha.interval, ci: ['krippendorff_alpha_interval', 'alpha_interval'] },
    { label: 'Krippendorff α (ratio)', value: alpha.ratio, ci: ['krippendorff_alpha_ratio', 'alpha_ratio'] },
  ].filter((f) => f.value !== undefined)
    // The ratio level needs a true zero; on a signed preference scale the report leaves it null by design.
    .filter((f) => !(f.label.endsWith('(ratio)') && f.value === null))
  const intervals = data.confidence_intervals ?? {}
  if (figures.length === 0) return null
  return (
    <>
      <div className="figures">
        {figures.map((f) => {
          const key = f.ci.find((k) => Array.isArray(intervals[k]))
          const ci = key ? intervals[key] : null
          const explained = EXPLANATIONS[f.label]
          const word = explained?.scale ? reading(explained.scale, f.value) : null
          return (
            <div key={f.label} className="figure" data-testid="figure">
              <div className="figure-value">{formatFigure(f.value)}</div>
              <div className="figure-label">{f.label}</div>
              {word && (
                <div className="figure-reading" title={explained?.scale ? scaleLine(explained.scale) : undefined}>
                  {word} <span className="muted">({explained?.scale?.source})</span>
                </div>
              )}
              {ci && (
                <div className="figure-ci">
                  95% CI {formatFigure(ci[0])} – {formatFigure(ci[1])}
                </div>
              )}
              {explained && <div className="figure-explain small muted">{explained.what}</div>}
            </div>
          )
        })}
      </div>
      <ReadingLegend scales={figures.map((f) => EXPLANATIONS[f.label]?.scale).filter((s): s is Scale => !!s)} />
    </>
  )
}

/** Each scale the figures are read on, once, spelled out. */
function ReadingLegend({ scales }: { scales: Scale[] }) {
  const unique = scales.filter((s, i) => scales.indexOf(s) === i)
  if (unique.length === 0) return null
  return (
    <ul className="reading-legend small muted" data-testid="reading-legend">
      {unique.map((s) => (
        <li key={s.source}>
          {s.measure}: {scaleLine(s)}
        </li>
      ))}
    </ul>
  )
}

function annotatorName(a: unknown): string {
  if (typeof a === 'string') return a
  if (a && typeof a === 'object') {
    const o = a as Record<string, unknown>
    return String(o.username ?? o.annotator ?? o.name ?? o.id ?? '?')
  }
  return String(a)
}

/** Colour for κ in [-1, 1]: red below zero, white at zero, teal towards one. */
function kappaColour(kappa: number): string {
  const k = Math.max(-1, Math.min(1, kappa))
  const mix = (from: number[], to: number[], t: number) => from.map((c, i) => Math.round(c + (to[i] - c) * t))
  const rgb = k < 0 ? mix([255, 255, 255], [214, 69, 65], -k) : mix([255, 255, 255], [13, 124, 118], k)
  return `rgb(${rgb.join(',')})`
}

export function KappaHeatmap({ data }: { data: Agreement }) {
  const pairs = data.cohen_kappa ?? []
  if (pairs.length === 0) return null
  const names = Array.from(new Set([...(data.annotators ?? []).map(annotatorName), ...pairs.flatMap((p) => p.annotators.map(annotatorName))]))
  const lookup = new Map<string, { kappa: number | null; n: number }>()
  for (const p of pairs) {
    const [a, b] = p.annotators.map(annotatorName)
    lookup.set(`${a}\u0000${b}`, { kappa: p.kappa, n: p.n_items })
    lookup.set(`${b}\u0000${a}`, { kappa: p.kappa, n: p.n_items })
  }
  const cell = 46
  const labelW = Math.min(140, 12 + 7 * Math.max(...names.map((n) => n.length)))
  const size = labelW + cell * names.length
  return (
    <figure className="chart">
      <figcaption>
        Cohen's κ between annotator pairs
        <div className="small muted chart-note">
          Agreement of two annotators beyond chance, over the items both answered; red below 0, teal towards 1. Reading: {scaleLine(LANDIS_KOCH)}.
        </div>
      </figcaption>
      <svg width={size + 8} height={size + 8} role="img" aria-label="Heatmap of Cohen's kappa between annotators" data-testid="kappa-heatmap">
        {names.map((name, i) => (
          <g key={name}>
            <text x={labelW - 6} y={labelW + cell * i + cell / 2 + 4} textAnchor="end" className="axis-label">
              {name}
            </text>
            <text transform={`translate(${labelW + cell * i + cell / 2 + 4}, ${labelW - 6}) rotate(-45)`} className="axis-label">
              {name}
            </text>
          </g>
        ))}
        {names.map((row, i) =>
          names.map((col, j) => {
            const entry = i === j ? null : lookup.get(`${row}\u0000${col}`)
            const kappa = entry?.kappa
            const fill = i === j ? '#eef0f3' : kappa == null ? '#f7f7f9' : kappaColour(kappa)
            const dark = kappa != null && Math.abs(kappa) > 0.55
            return (
              <g key={`${i}-${j}`}>
                <rect x={labelW + cell * j} y={labelW + cell * i} width={cell - 2} height={cell - 2} rx={3} fill={fill}>
                  <title>{i === j ? row : `${row} × ${col}: κ = ${formatFigure(kappa)} (${reading(LANDIS_KOCH, kappa) ?? 'undefined'}) over ${entry?.n ?? 0} items`}</title>
                </rect>
                <text x={labelW + cell * j + (cell - 2) / 2} y={labelW + cell * i + cell / 2 + 3} textAnchor="middle" className={dark ? 'cell-label light' : 'cell-label'}>
                  {i === j ? '' : formatFigure(kappa)}
                </text>
              </g>
            )
          }),
        )}
      </svg>
    </figure>
  )
}

/** Per-item agreement values, from whichever field the API provides. */
export function itemAgreementValues(data: Agreement): number[] {
  const raw = data.items ?? data.item_agreement ?? data.per_item
  if (!Array.isArray(raw)) return []
  return raw
    .map((v) => (v && typeof v === 'object' ? (v as Record<string, unknown>).agreement : v))
    .filter((v): v is number => typeof v === 'number' && Number.isFinite(v))
}

/** The report's own histogram when it has one, else ten bins over the per-item values. */
export function itemHistogram(data: Report, bins = 10): Histogram | null {
  const given = data.item_agreement_histogram
  if (given && Array.isArray(given.counts) && given.counts.length > 0) return given
  const values = itemAgreementValues(data)
  if (values.length === 0) return null
  const counts = new Array<number>(bins).fill(0)
  for (const v of values) counts[Math.min(bins - 1, Math.max(0, Math.floor(v * bins)))]++
  return { counts, edges: Array.from({ length: bins + 1 }, (_, i) => i / bins) }
}

export function ItemHistogram({ histogram }: { histogram: Histogram | null }) {
  if (!histogram) return null
  const { counts, edges } = histogram
  const total = counts.reduce((a, b) => a + b, 0)
  const max = Math.max(1, ...counts)
  const w = 320
  const h = 160
  const bar = w / counts.length
  return (
    <figure className="chart">
      <figcaption>Agreement per item ({total} items)</figcaption>
      <svg width={w + 56} height={h + 56} role="img" aria-label="Histogram of per-item agreement" data-testid="item-histogram">
        <text x={-(h / 2) - 6} y={12} transform="rotate(-90)" textAnchor="middle" className="axis-title">
          Items
        </text>
        <text x={46 + w / 2} y={h + 50} textAnchor="middle" className="axis-title">
          Share of the item's answer pairs that agree
        </text>
        <g transform="translate(46, 6)">
          <line x1={0} y1={h} x2={w} y2={h} className="axis" />
          {counts.map((c, i) => {
            const bh = (c / max) * (h - 10)
            return (
              <rect key={i} x={i * bar + 1} y={h - bh} width={bar - 2} height={bh} className="bar">
                <title>{`${edges[i]?.toFixed(1)}–${edges[i + 1]?.toFixed(1)}: ${c} items`}</title>
              </rect>
            )
          })}
          {[0, 0.5, 1].map((t) => (
            <text key={t} x={t * w} y={h + 16} textAnchor="middle" className="axis-label">
              {t}
            </text>
          ))}
          <text x={-6} y={10} textAnchor="end" className="axis-label">
            {max}
          </text>
        </g>
      </svg>
    </figure>
  )
}

/** Percent agreement by day, when the report tracks it over at least two days. */
function OverTime({ points }: { points: { date: string; percent_agreement: number | null }[] }) {
  const defined = points.filter((p): p is { date: string; percent_agreement: number } => p.percent_agreement != null)
  if (defined.length < 2) return null
  const w = 320
  const h = 160
  const x = (i: number) => (i / (defined.length - 1)) * w
  const y = (v: number) => h - v * (h - 10)
  const path = defined.map((p, i) => `${i ? 'L' : 'M'}${x(i).toFixed(1)},${y(p.percent_agreement).toFixed(1)}`).join(' ')
  return (
    <figure className="chart">
      <figcaption>Percent agreement by day</figcaption>
      <svg width={w + 56} height={h + 56} role="img" aria-label="Percent agreement by day" data-testid="agreement-over-time">
        <text x={-(h / 2) - 6} y={12} transform="rotate(-90)" textAnchor="middle" className="axis-title">
          Percent agreement
        </text>
        <text x={46 + w / 2} y={h + 50} textAnchor="middle" className="axis-title">
          Day the answers were given
        </text>
        <g transform="translate(46, 6)">
          <line x1={0} y1={h} x2={w} y2={h} className="axis" />
          <path d={path} className="line" />
          {defined.map((p, i) => (
            <circle key={p.date} cx={x(i)} cy={y(p.percent_agreement)} r={3} className="dot">
              <title>{`${p.date}: ${formatFigure(p.percent_agreement)}`}</title>
            </circle>
          ))}
          <text x={0} y={h + 16} className="axis-label">
            {defined[0].date}
          </text>
          <text x={w} y={h + 16} textAnchor="end" className="axis-label">
            {defined[defined.length - 1].date}
          </text>
          <text x={-6} y={14} textAnchor="end" className="axis-label">
            1
          </text>
        </g>
      </svg>
    </figure>
  )
}

/** The items annotators disagree on most: where a lead's review pays off first. */
function Contested({ rows: all, projectId }: { rows: ContestedRow[]; projectId: number }) {
  const rows = all.filter((r) => r.agreement != null && r.agreement < 1)
  if (rows.length === 0) return null
  return (
    <div className="table-wrap">
      <h3 className="small">Most contested items</h3>
      <table className="table table-hover table-compact" data-testid="contested-items">
        <thead>
          <tr>
            <th>Item</th>
            <th>Prompt</th>
            <th className="num">Answers</th>
            <th className="num">Agreement</th>
          </tr>
        </thead>
        <tbody>
          {rows.slice(0, 10).map((r) => (
            <tr key={r.item}>
              <td className="muted small">#{r.item}</td>
              <td className="prompt-cell">
                <Link to={`/projects/${projectId}/items/${r.item}`}>{r.prompt || `Item #${r.item}`}</Link>
              </td>
              <td className="num">{r.n_answers ?? '—'}</td>
              <td className="num">{formatFigure(r.agreement)}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  )
}

const pct = (v: unknown) => (typeof v === 'number' ? `${Math.round(v * 100)}%` : '—')

/** Per-annotator quality figures, when the report carries them as objects. */
function AnnotatorQuality({ data }: { data: Agreement }) {
  const rows = (data.annotators ?? []).filter((a): a is Record<string, unknown> => !!a && typeof a === 'object')
  if (rows.length === 0) return null
  return (
    <div className="table-wrap">
      <h3 className="small">Annotator quality</h3>
      <table className="table">
        <thead>
          <tr>
            <th>Annotator</th>
            <th className="num">Answers</th>
            <th className="num">Agrees with others</th>
            <th className="num">Gold accuracy</th>
            <th className="num" title="Dawid–Skene estimate of how often this annotator is right">Reliability</th>
            <th className="num" title="How often the response shown first is chosen (50% = none)">Position bias</th>
            <th className="num" title="How often the longer response is chosen (50% = none)">Length bias</th>
            <th className="num">Tie rate</th>
            <th className="num">Median time</th>
            <th className="num" title="Answers faster than the reading-time floor">Too fast</th>
          </tr>
        </thead>
        <tbody>
          {rows.map((a) => (
            <tr key={annotatorName(a)}>
              <td>{annotatorName(a)}</td>
              <td className="num">{String(a.n_answers ?? '—')}</td>
              <td className="num">{pct(a.loo_agreement)}</td>
              <td className="num">{pct(a.gold_accuracy)}</td>
              <td className="num">{pct(a.ds_reliability)}</td>
              <td className="num">{pct(a.position_bias)}</td>
              <td className="num">{pct(a.length_bias)}</td>
              <td className="num">{pct(a.tie_rate)}</td>
              <td className="num">{typeof a.median_seconds === 'number' ? `${a.median_seconds.toFixed(1)} s` : '—'}</td>
              <td className="num">{String(a.too_fast ?? '—')}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  )
}
