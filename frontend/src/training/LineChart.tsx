// uPlot in React: the plot is built once per set of series and given new data as it arrives, so a
// live chart of thousands of points redraws without rebuilding. Drag to zoom (uPlot's default),
// double-click to see everything again; while zoomed in, new points do not reset the view.
import { useEffect, useId, useRef } from 'react'
import uPlot from 'uplot'
import 'uplot/dist/uPlot.min.css'
import { formatTick, formatTicks, padRange, WHOLE_INCREMENTS } from './format'

export interface ChartSeries {
  label: string
  color?: string
  /** Points only, no line between them: a scatter (reward against KL). */
  scatter?: boolean
}

// Distinct on white and for the common colour-vision deficiencies (Okabe–Ito, darkened a little).
export const PALETTE = ['#2f55d4', '#c2570c', '#137a4b', '#b3125b', '#6a3fc0', '#8a6100', '#0e7490', '#5b6474']

interface Props {
  title: string
  /** [x values, then one column per series]; null where a series has no point. */
  data: (number | null)[][]
  series: ChartSeries[]
  /** Read by screen readers in place of the canvas. */
  summary: string
  height?: number
  xLabel?: string
  /** Charts with the same key move their cursors together. */
  syncKey?: string
  /** Name the x axis under the plot (small charts in a grid leave it to the legend). */
  showXLabel?: boolean
  /** The x values are whole steps (ticks never fall between two); false for a continuous x such as KL. */
  wholeX?: boolean
}

export function LineChart({ title, data, series, summary, height = 180, xLabel = 'step', syncKey, showXLabel = true, wholeX = true }: Props) {
  const captionId = useId()
  const box = useRef<HTMLDivElement>(null)
  const plot = useRef<uPlot | null>(null)
  const latest = useRef(data)
  latest.current = data
  const zoomed = useRef(false)
  const shape = JSON.stringify([series, height, xLabel, syncKey, showXLabel, wholeX])

  useEffect(() => {
    const el = box.current
    if (!el) return
    const opts: uPlot.Options = {
      width: el.clientWidth || 320,
      height,
      legend: { show: true, live: true },
      cursor: syncKey ? { sync: { key: syncKey } } : {},
      // Steps run edge to edge; scattered points (a KL axis) get a margin so none sits on the frame.
      scales: { x: wholeX ? { time: false } : { time: false, range: (_u, min, max) => padRange(min, max) } },
      axes: [
        { label: showXLabel ? xLabel : undefined, stroke: '#677084', grid: { stroke: '#eef0f3' }, ticks: { stroke: '#e2e5ea' }, incrs: wholeX ? WHOLE_INCREMENTS : undefined, values: (_u, splits) => formatTicks(splits) },
        { stroke: '#677084', grid: { stroke: '#eef0f3' }, ticks: { stroke: '#e2e5ea' }, size: 60, values: (_u, splits) => formatTicks(splits) },
      ],
      series: [
        { label: xLabel, value: wholeX ? undefined : (_u: uPlot, v: number | null) => (v === null ? '—' : formatTick(v)) },
        ...series.map((s, i) => {
          const stroke = s.color ?? PALETTE[i % PALETTE.length]
          return {
            label: s.label,
            stroke,
            width: 1.5,
            spanGaps: !s.scatter,
            ...(s.scatter
              ? { paths: () => null, points: { show: true, size: 8, fill: stroke } }
              : { points: { show: (u: uPlot) => (u.data[0]?.length ?? 0) < 60 } }),
            value: (_u: uPlot, v: number | null) => (v === null ? '—' : formatTick(v)),
          }
        }),
      ],
      hooks: {
        setScale: [
          (u, key) => {
            if (key !== 'x') return
            const xs = u.data[0]
            if (!xs?.length) return
            const { min, max } = u.scales.x
            zoomed.current = (min ?? -Infinity) > xs[0] || (max ?? Infinity) < xs[xs.length - 1]
          },
        ],
      },
    }
    zoomed.current = false
    const u = new uPlot(opts, latest.current as uPlot.AlignedData, el)
    plot.current = u
    const resize = typeof ResizeObserver === 'undefined'
      ? null
      : new ResizeObserver(() => {
          const width = el.clientWidth
          if (width > 0 && width !== u.width) u.setSize({ width, height })
        })
    resize?.observe(el)
    return () => {
      resize?.disconnect()
      u.destroy()
      plot.current = null
    }
    // `shape` stands for series, height, xLabel, syncKey, showXLabel and wholeX: rebuild only when one of them changes.
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [shape])

  useEffect(() => {
    plot.current?.setData(data as uPlot.AlignedData, !zoomed.current)
  }, [data])

  return (
    <figure className="metric-chart" aria-labelledby={captionId}>
      <figcaption id={captionId}>{title}</figcaption>
      <div ref={box} className="metric-chart-plot" role="img" aria-label={summary} />
    </figure>
  )
}
