// One small chart per logged metric, in a grid; the cursors move together so one step can be read
// across every curve.
import { useMemo } from 'react'
import { formatTick } from './format'
import { LineChart } from './LineChart'
import { orderedKeys, seriesOf, type MetricSeries } from './metrics'

export function MetricCharts({ series, syncKey }: { series: MetricSeries; syncKey: string }) {
  const keys = useMemo(() => orderedKeys(series.keys), [series.keys])
  const charts = useMemo(() => keys.map((key) => ({ key, points: seriesOf(series, key) })), [keys, series])
  return (
    <div className="metric-grid" data-testid="metric-charts">
      {charts.map(({ key, points }) => (
        <MetricChart key={key} name={key} points={points} syncKey={syncKey} />
      ))}
    </div>
  )
}

function MetricChart({ name, points, syncKey }: { name: string; points: [number[], number[]]; syncKey: string }) {
  const [xs, ys] = points
  const last = ys.length ? ys[ys.length - 1] : null
  const series = useMemo(() => [{ label: name }], [name])
  const summary = xs.length ? `${name} by step: ${xs.length} points from step ${xs[0]} to ${xs[xs.length - 1]}, latest ${formatTick(last)}` : `${name}: no points yet`
  return (
    <div className="metric-cell" data-metric={name} data-points={xs.length}>
      <LineChart
        title={`${name}${last === null ? '' : ` · ${formatTick(last)}`}`}
        data={points}
        series={series}
        summary={summary}
        height={160}
        syncKey={syncKey}
        showXLabel={false}
      />
    </div>
  )
}
