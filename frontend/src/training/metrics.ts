// A job's logged metrics as columns (one array of steps, one array per metric key), grown by
// appending what each poll brings. Keys appear whenever the trainer first logs them (an eval loss
// every N steps): earlier steps hold null for them, and a step that lacks a key holds null there.
// The server may add values to a step's row after it was read (a checkpoint evaluation lands on
// the step just logged), so each poll reads the last step held again and merges it.

export interface MetricSeries {
  steps: number[]
  /** In the order first seen. */
  keys: string[]
  values: Record<string, (number | null)[]>
  /** The last step held; null before anything arrived (then the first fetch has no `after`). */
  lastStep: number | null
}

export const EMPTY_SERIES: MetricSeries = { steps: [], keys: [], values: {}, lastStep: null }

export interface MetricInput {
  step: number
  values: Record<string, unknown>
}

const asNumber = (v: unknown): number | null => (typeof v === 'number' && Number.isFinite(v) ? v : null)

/** Does `row` (at the last step held) carry a value that the series does not hold there yet? */
function changesLast(series: MetricSeries, row: MetricInput): boolean {
  const at = series.steps.length - 1
  return Object.entries(row.values ?? {}).some(([key, v]) => (series.values[key]?.[at] ?? null) !== asNumber(v))
}

/**
 * `series` with `rows` appended. A row at the last step held is merged into it (values the server
 * added since); rows before it are dropped (an answer that overlaps one already merged), as are rows
 * out of order within `rows`; `series` is not changed, and is returned as is when nothing is new.
 */
export function appendMetrics(series: MetricSeries, rows: MetricInput[]): MetricSeries {
  let last = series.lastStep
  const fresh: MetricInput[] = []
  let again: MetricInput | null = null
  for (const row of rows) {
    if (typeof row.step !== 'number') continue
    if (row.step === series.lastStep && fresh.length === 0 && series.steps.length > 0) {
      again = row
      continue
    }
    if (last !== null && row.step <= last) continue
    fresh.push(row)
    last = row.step
  }
  if (again && !changesLast(series, again)) again = null
  if (fresh.length === 0 && !again) return series
  const keys = [...series.keys]
  const values: Record<string, (number | null)[]> = {}
  for (const key of keys) values[key] = [...series.values[key]]
  const steps = [...series.steps]
  if (again) {
    for (const [key, v] of Object.entries(again.values ?? {})) {
      if (!(key in values)) {
        keys.push(key)
        values[key] = new Array(steps.length).fill(null)
      }
      values[key][steps.length - 1] = asNumber(v)
    }
  }
  for (const row of fresh) {
    for (const key of Object.keys(row.values ?? {})) {
      if (key in values) continue
      keys.push(key)
      values[key] = new Array(steps.length).fill(null)
    }
    steps.push(row.step)
    for (const key of keys) values[key].push(asNumber(row.values?.[key]))
  }
  return { steps, keys, values, lastStep: last }
}

/** The points of one metric, steps where it was logged only: [x, y] columns for a chart. */
export function seriesOf(series: MetricSeries, key: string): [number[], number[]] {
  const xs: number[] = []
  const ys: number[] = []
  const column = series.values[key] ?? []
  for (let i = 0; i < series.steps.length; i++) {
    const v = column[i]
    if (v !== null && v !== undefined) {
      xs.push(series.steps[i])
      ys.push(v)
    }
  }
  return [xs, ys]
}

/** Several runs' curves of one metric on one x axis (the union of their steps); a run without a point there holds null. */
export function alignRuns(runs: [number[], number[]][]): (number | null)[][] {
  const steps = [...new Set(runs.flatMap(([xs]) => xs))].sort((a, b) => a - b)
  const index = new Map(steps.map((s, i) => [s, i]))
  const columns = runs.map(([xs, ys]) => {
    const column: (number | null)[] = new Array(steps.length).fill(null)
    xs.forEach((x, i) => (column[index.get(x)!] = ys[i]))
    return column
  })
  return [steps, ...columns]
}

// Losses first, then the quantities people watch most (an online RL job's score and KL among them),
// then the rest in the order logged.
const PREFERRED = ['loss', 'eval_loss', 'objective/rlhf_reward', 'objective/scores', 'objective/kl', 'accuracy', 'rewards/accuracies', 'rewards/margins', 'rewards/chosen', 'rewards/rejected', 'learning_rate', 'grad_norm']

export function orderedKeys(keys: string[]): string[] {
  const rank = (k: string) => {
    const i = PREFERRED.indexOf(k)
    return i === -1 ? PREFERRED.length : i
  }
  return keys.map((k, i) => [k, i] as const).sort((a, b) => rank(a[0]) - rank(b[0]) || a[1] - b[1]).map(([k]) => k)
}
