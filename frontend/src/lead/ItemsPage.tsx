import { formatFigure } from '../components/ui'
import { rows } from '../lib/api'
import { errorText, useFetch } from '../lib/hooks'
import { Link, navigate, useLocation } from '../lib/router'
import { firstPrompt, type LeadItem } from './answers'
import { LeadFrame } from './ProjectHeader'

interface Page {
  count: number
  next: string | null
  previous: string | null
  results: LeadItem[]
}

export function ItemsPage({ projectId }: { projectId: number }) {
  return <LeadFrame projectId={projectId}>{(project) => <ItemsTable projectId={projectId} perItem={project.annotations_per_item} />}</LeadFrame>
}

function ItemsTable({ projectId, perItem }: { projectId: number; perItem: number }) {
  const { pathname, search } = useLocation()
  const status = search.get('status') ?? ''
  const gold = search.get('is_gold') ?? ''
  const page = search.get('page') ?? ''
  const query = new URLSearchParams()
  if (status) query.set('status', status)
  if (gold) query.set('is_gold', gold)
  if (page) query.set('page', page)
  const { data, error, loading } = useFetch<Page | LeadItem[]>(`/api/projects/${projectId}/items/?${query}`)
  const items = rows(data as Page | LeadItem[] | undefined)
  const paged = data && !Array.isArray(data) ? data : null

  function setFilter(key: string, value: string) {
    const next = new URLSearchParams(search)
    if (value) next.set(key, value)
    else next.delete(key)
    next.delete('page')
    navigate(`${pathname}?${next}`, { replace: true })
  }

  function goTo(url: string | null) {
    if (!url) return
    const target = new URL(url, window.location.origin).searchParams.get('page')
    const next = new URLSearchParams(search)
    if (target) next.set('page', target)
    else next.delete('page')
    navigate(`${pathname}?${next}`)
  }

  return (
    <div className="card">
      <div className="filters">
        <label className="field-inline">
          Status
          <select value={status} onChange={(e) => setFilter('status', e.target.value)}>
            <option value="">Any</option>
            <option value="open">Open</option>
            <option value="in_progress">In progress</option>
            <option value="complete">Complete</option>
          </select>
        </label>
        <label className="field-inline">
          Gold
          <select value={gold} onChange={(e) => setFilter('is_gold', e.target.value)}>
            <option value="">Any</option>
            <option value="true">Gold only</option>
            <option value="false">Not gold</option>
          </select>
        </label>
        <span className="muted small">{data ? plural(paged ? paged.count : items.length, 'item') : ''}</span>
      </div>
      {error != null && <p className="form-error">Could not load items: {errorText(error)}</p>}
      {loading && !data && <p className="muted">Loading…</p>}
      {data && items.length === 0 && <div className="empty">No items match.</div>}
      {items.length > 0 && (
        <div className="table-wrap">
          <table className="table table-hover" data-testid="items-table">
            <thead>
              <tr>
                <th>ID</th>
                <th>Prompt</th>
                <th>Status</th>
                <th>Gold</th>
                <th className="num">Answers</th>
                <th className="num">Agreement</th>
              </tr>
            </thead>
            <tbody>
              {items.map((item) => (
                <tr key={item.id}>
                  <td>
                    <Link href={`/projects/${projectId}/items/${item.id}`}>#{item.id}</Link>
                    {item.external_id && <div className="muted small">{item.external_id}</div>}
                  </td>
                  <td className="prompt-cell">
                    <Link href={`/projects/${projectId}/items/${item.id}`} className="plain-link">
                      {truncate(firstPrompt(item), 140) || <span className="muted">(no prompt)</span>}
                    </Link>
                  </td>
                  <td>{item.status ? <span className={`tag tag-status-${item.status}`}>{item.status.replace('_', ' ')}</span> : '—'}</td>
                  <td>{item.is_gold ? <span className="tag tag-gold">gold</span> : ''}</td>
                  <td className="num">
                    {item.n_submitted ?? '—'} / {perItem}
                    {item.n_leased ? <div className="muted small">{item.n_leased} leased</div> : null}
                  </td>
                  <td className="num">{formatFigure(item.agreement)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      {paged && (paged.next || paged.previous) && (
        <div className="pager">
          <button type="button" className="btn btn-sm" disabled={!paged.previous} onClick={() => goTo(paged.previous)}>
            ← Previous
          </button>
          <span className="muted small">Page {page || 1}</span>
          <button type="button" className="btn btn-sm" disabled={!paged.next} onClick={() => goTo(paged.next)}>
            Next →
          </button>
        </div>
      )}
    </div>
  )
}

function truncate(text: string, n: number): string {
  return text.length > n ? `${text.slice(0, n - 1)}…` : text
}

function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? '' : 's'}`
}
