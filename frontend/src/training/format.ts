// Figures as the training screens write them.

/** "45 s", "3 min", "2 h 05 min"; "—" when unknown. */
export function formatEta(seconds: number | null | undefined): string {
  if (seconds == null || !Number.isFinite(seconds) || seconds < 0) return '—'
  if (seconds < 60) return `${Math.ceil(seconds)} s`
  if (seconds < 3600) return `${Math.round(seconds / 60)} min`
  const h = Math.floor(seconds / 3600)
  return `${h} h ${String(Math.round((seconds % 3600) / 60)).padStart(2, '0')} min`
}

/** 124439808 → "124M", 1.1e9 → "1.1B". */
export function formatParams(n: number | null | undefined): string {
  if (n == null) return '—'
  if (n >= 1e9) return `${Number((n / 1e9).toPrecision(2))}B`
  if (n >= 1e6) return `${Number((n / 1e6).toPrecision(3))}M`
  if (n >= 1e3) return `${Number((n / 1e3).toPrecision(3))}K`
  return String(n)
}

export function formatTime(iso: string | null | undefined): string {
  return iso ? new Date(iso).toLocaleString() : '—'
}

/** A metric or config value: numbers short, the rest as JSON. */
export function formatValue(v: unknown): string {
  if (typeof v === 'number') return Number.isInteger(v) ? String(v) : formatTick(v)
  if (v === null || v === undefined) return '—'
  if (typeof v === 'string') return v
  return JSON.stringify(v)
}

/** Nested figures one level flat, as `reward_model.accuracy`: an evaluation reads as one table. */
export function flatten(values: Record<string, unknown>): [string, unknown][] {
  return Object.entries(values).flatMap(([key, value]) =>
    value && typeof value === 'object' && !Array.isArray(value)
      ? Object.entries(value as Record<string, unknown>).map(([inner, v]): [string, unknown] => [`${key}.${inner}`, v])
      : [[key, value] as [string, unknown]],
  )
}

/** Seconds between two instants as "12.3 s" or "4 min"; the end defaults to now. */
export function elapsed(from: string | null, to: string | null): string {
  if (!from) return '—'
  const ms = (to ? new Date(to).getTime() : Date.now()) - new Date(from).getTime()
  return ms < 60_000 ? `${(ms / 1000).toFixed(1)} s` : formatEta(ms / 1000)
}

/** Tick labels that stay short for learning rates (5e-5) and losses alike. */
export function formatTick(v: number | null): string {
  if (v === null || !Number.isFinite(v)) return ''
  if (v === 0) return '0'
  const abs = Math.abs(v)
  if (abs >= 1e5 || abs < 1e-3) return v.toExponential(1).replace('.0e', 'e')
  return String(Number(v.toPrecision(4)))
}

/**
 * Tick labels for one axis, with just enough digits to tell neighbouring ticks apart (uPlot's ticks
 * step by 1, 2, 2.5 or 5 times a power of ten); exponents for the very small and very large.
 */
export function formatTicks(splits: number[]): string[] {
  const finite = splits.filter((v) => Number.isFinite(v))
  if (finite.length === 0) return splits.map(() => '')
  const step = finite.length > 1 ? Math.abs(finite[1] - finite[0]) : Math.abs(finite[0]) || 1
  const largest = Math.max(...finite.map(Math.abs))
  if (largest >= 1e5 || (largest > 0 && largest < 1e-3)) {
    const digits = Math.min(6, Math.max(0, Math.ceil(Math.log10(largest / step))))
    return splits.map((v) => (v === 0 ? '0' : v.toExponential(digits).replace(/\.?0+e/, 'e')))
  }
  let decimals = Math.max(0, -Math.floor(Math.log10(step)))
  if (Math.abs(step * 10 ** decimals - Math.round(step * 10 ** decimals)) > 1e-6) decimals++
  return splits.map((v) => v.toFixed(Math.min(decimals, 10)))
}

/** Tick steps for an axis of whole steps: never 1.5. */
export const WHOLE_INCREMENTS = Array.from({ length: 10 }, (_, e) => [1, 2, 5].map((m) => m * 10 ** e)).flat()


/** [min, max] widened by 8% of the span on each side (a lone point: of its size, or 1). */
export function padRange(min: number, max: number): [number, number] {
  const span = max - min || Math.abs(max) || 1
  return [min - span * 0.08, max + span * 0.08]
}
