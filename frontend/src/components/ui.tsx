import { useEffect, useState } from 'react'
import { Link } from 'react-router'

export function ProgressBar({ value, max, label }: { value: number; max: number; label?: string }) {
  const pct = max > 0 ? Math.min(100, (value / max) * 100) : 0
  return (
    <div className="progress" role="progressbar" aria-valuemin={0} aria-valuemax={max} aria-valuenow={value} aria-label={label ?? 'Progress'}>
      <div className="progress-fill" style={{ width: `${pct}%` }} />
    </div>
  )
}

/** Time since `startedAt` (performance.now() clock), ticking once a second. */
export function Timer({ startedAt, running }: { startedAt: number; running: boolean }) {
  const [now, setNow] = useState(() => performance.now())
  useEffect(() => {
    setNow(performance.now())
    if (!running) return
    const timer = setInterval(() => setNow(performance.now()), 1000)
    return () => clearInterval(timer)
  }, [startedAt, running])
  return (
    <span className="timer" aria-label="Time on this item" title="Time on this item">
      <ClockIcon /> {formatDuration(Math.max(0, now - startedAt))}
    </span>
  )
}

/** "4.2 s" under a minute, else "m:ss": answers are often seconds long, timers run for minutes. */
export function formatSpent(ms: number): string {
  return ms < 60_000 ? `${(ms / 1000).toFixed(1)} s` : formatDuration(ms)
}

export function formatDuration(ms: number): string {
  const total = Math.floor(ms / 1000)
  const m = Math.floor(total / 60)
  const s = total % 60
  return `${m}:${String(s).padStart(2, '0')}`
}

export interface Tab {
  href: string
  label: string
  end?: boolean // pushed to the right edge
}

export function Tabs({ tabs, current }: { tabs: Tab[]; current: string }) {
  return (
    <nav className="tabs" aria-label="Project sections">
      {tabs.map((t) => (
        <Link key={t.href} to={t.href} className={['tab', current === t.href && 'active', t.end && 'tab-end'].filter(Boolean).join(' ')} aria-current={current === t.href ? 'page' : undefined}>
          {t.label}
        </Link>
      ))}
    </nav>
  )
}

export function ClockIcon() {
  return (
    <svg className="icon" width="14" height="14" viewBox="0 0 16 16" aria-hidden="true" focusable="false">
      <circle cx="8" cy="8" r="6.5" fill="none" stroke="currentColor" strokeWidth="1.5" />
      <path d="M8 4.5V8l2.5 1.5" fill="none" stroke="currentColor" strokeWidth="1.5" strokeLinecap="round" />
    </svg>
  )
}

/** Copy text to the clipboard; plain http on a LAN host has no Clipboard API, so fall back to a selection. */
export async function copyText(text: string): Promise<boolean> {
  if (navigator.clipboard && globalThis.isSecureContext) {
    try {
      await navigator.clipboard.writeText(text)
      return true
    } catch {
      // fall through to the selection copy
    }
  }
  const area = document.createElement('textarea')
  area.value = text
  area.setAttribute('readonly', '')
  area.style.position = 'fixed'
  area.style.opacity = '0'
  document.body.appendChild(area)
  area.select()
  const ok = document.execCommand('copy')
  area.remove()
  return ok
}

/** A long hash shown short; the whole value is in the tooltip and one click copies it. */
export function Hash({ value, chars = 12, label = 'sha256' }: { value: string; chars?: number; label?: string }) {
  const [copied, setCopied] = useState(false)
  useEffect(() => {
    if (!copied) return
    const timer = setTimeout(() => setCopied(false), 1500)
    return () => clearTimeout(timer)
  }, [copied])
  return (
    <span className="hash">
      <code title={value} data-full={value}>
        {value.length > chars ? `${value.slice(0, chars)}…` : value}
      </code>
      <button type="button" className="btn btn-ghost btn-xs" aria-label={`Copy the full ${label}`} title={`Copy the full ${label}`} onClick={async () => setCopied(await copyText(value))}>
        {copied ? 'Copied' : 'Copy'}
      </button>
    </span>
  )
}

/** Bytes in binary units, one decimal from KiB up. */
/** An agreement figure to two decimals; "—" when there is none. */
export function formatFigure(value: number | null | undefined): string {
  if (value == null || Number.isNaN(value)) return '—'
  return value.toFixed(2)
}

export function formatBytes(n: number): string {
  if (n < 1024) return `${n} B`
  const units = ['KiB', 'MiB', 'GiB', 'TiB']
  let value = n / 1024
  let unit = 0
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024
    unit++
  }
  return `${value.toFixed(1)} ${units[unit]}`
}
