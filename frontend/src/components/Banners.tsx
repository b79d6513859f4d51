import { useEffect, useState } from 'react'
import { answerQueue, useQueueState } from '../annotate/queue'
import { dismissNotice, useNotices } from '../lib/notices'

/** Shown while an answer waits for the server: the annotator must know nothing is lost. */
export function NetworkBanner() {
  const state = useQueueState()
  const now = useNow(state.nextRetryAt !== null)
  if (state.pending === 0 || (state.attempts === 0 && !state.blockedOnAuth)) return null
  const seconds = state.nextRetryAt ? Math.max(0, Math.ceil((state.nextRetryAt - now) / 1000)) : 0
  const plural = state.pending === 1 ? 'answer is' : `${state.pending} answers are`
  return (
    <div className="banner banner-warn" role="status" aria-live="polite" data-testid="network-banner">
      <strong>Connection problem.</strong> Your {plural} saved on this device and will be sent automatically
      {state.nextRetryAt ? ` — next try in ${seconds}s` : ' — trying now'}.
      {state.lastError && <span className="muted"> ({state.lastError})</span>}
      <button type="button" className="btn btn-sm" onClick={() => answerQueue.retryNow()}>
        Retry now
      </button>
    </div>
  )
}

function useNow(ticking: boolean): number {
  const [now, setNow] = useState(() => Date.now())
  useEffect(() => {
    if (!ticking) return
    const timer = setInterval(() => setNow(Date.now()), 500)
    return () => clearInterval(timer)
  }, [ticking])
  return now
}

export function Notices() {
  const notices = useNotices()
  if (notices.length === 0) return null
  return (
    <div className="notices" aria-live="polite">
      {notices.map((n) => (
        <div key={n.id} className={`banner banner-${n.tone}`} role={n.tone === 'error' ? 'alert' : 'status'}>
          <span>{n.text}</span>
          <button type="button" className="btn btn-ghost btn-sm" aria-label="Dismiss" onClick={() => dismissNotice(n.id)}>
            ×
          </button>
        </div>
      ))}
    </div>
  )
}

export function FieldErrors({ errors }: { errors: { field?: string; message: string; line?: number }[] }) {
  if (errors.length === 0) return null
  return (
    <div className="banner banner-error" role="alert">
      <ul className="error-list">
        {errors.map((e, i) => (
          <li key={i}>
            {e.line != null && <span className="tag">line {e.line}</span>}
            {e.field && <code>{e.field}</code>} {e.message}
          </li>
        ))}
      </ul>
    </div>
  )
}
