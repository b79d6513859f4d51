import { useState, type FormEvent } from 'react'
import { formatFigure } from '../components/ui'
import { ApiError, rows } from '../lib/api'
import { errorText } from '../lib/errors'
import { useGet } from '../lib/queries'
import { Link, useLocation, useNavigate, useSearchParams } from 'react-router'
import { firstPrompt, type LeadItem } from './answers'
import { filterErrors, filterQuery, itemHref, parseMetadata, STATUS_LABELS, type SingleFilter } from './itemFilters'
import { LeadFrame } from './ProjectHeader'
import { apiPaths, withQuery } from '../lib/paths'

interface Page {
  count: number
  next: string | null
  previous: string | null
  results: LeadItem[]
}

export function ItemsPage({ projectId }: { projectId: number }) {
  return <LeadFrame projectId={projectId}>{(project) => <ItemsTable projectId={projectId} perItem={project.annotations_per_item} />}</LeadFrame>
}

/** Text boxes apply on Enter or "Apply"; the selects at once. */
const TEXT_FILTERS: { key: SingleFilter; label: string; placeholder: string; width?: string }[] = [
  { key: 'q', label: 'Search', placeholder: 'prompt or response text', width: '14rem' },
  { key: 'annotator', label: 'Annotator', placeholder: 'username' },
  { key: 'model', label: 'Model', placeholder: 'response model' },
  { key: 'min_agreement', label: 'Agreement from', placeholder: '0', width: '4.5rem' },
  { key: 'max_agreement', label: 'to', placeholder: '1', width: '4.5rem' },
]

const CHOICES: { key: SingleFilter; label: string; options: [string, string][] }[] = [
  { key: 'status', label: 'Status', options: Object.entries(STATUS_LABELS) },
  { key: 'is_gold', label: 'Gold', options: [['true', 'Gold only'], ['false', 'Not gold']] },
  { key: 'flagged', label: 'Flagged', options: [['true', 'With a flagged answer'], ['false', 'No flagged answer']] },
  { key: 'adjudicated', label: 'Settled', options: [['true', 'Settled by a lead'], ['false', 'Not settled']] },
]

function ItemsTable({ projectId, perItem }: { projectId: number; perItem: number }) {
  const { pathname } = useLocation()
  const navigate = useNavigate()
  const [search] = useSearchParams()
  const page = search.get('page') ?? ''
  const query = filterQuery(search)
  if (page) query.set('page', page)
  const { data, error, isFetching } = useGet<Page | LeadItem[]>(withQuery(apiPaths.items(projectId), query))
  const items = rows(data as Page | LeadItem[] | undefined)
  const paged = data && !Array.isArray(data) ? data : null
  const { byField, general } = filterErrors(error instanceof ApiError && error.status === 400 ? error.errors : [])

  function apply(changes: Record<string, string | string[]>) {
    const next = filterQuery(search)
    for (const [key, value] of Object.entries(changes)) {
      next.delete(key)
      for (const v of Array.isArray(value) ? value : [value]) if (v) next.append(key, v)
    }
    navigate(withQuery(pathname, next), { replace: true })
  }

  function goTo(url: string | null) {
    if (!url) return
    const target = new URL(url, window.location.origin).searchParams.get('page')
    const next = filterQuery(search)
    if (target) next.set('page', target)
    navigate(withQuery(pathname, next))
  }

  return (
    <div className="card">
      <FilterForm search={search} errors={byField} onApply={apply} />
      <div className="filters">
        {CHOICES.map((choice) => (
          <label key={choice.key} className="field-inline">
            {choice.label}
            <select value={search.get(choice.key) ?? ''} onChange={(e) => apply({ [choice.key]: e.target.value })} aria-invalid={!!byField[choice.key]}>
              <option value="">Any</option>
              {choice.options.map(([value, label]) => (
                <option key={value} value={value}>
                  {label}
                </option>
              ))}
            </select>
          </label>
        ))}
        <span className="muted small" data-testid="items-count">{data ? plural(paged ? paged.count : items.length, 'item') : ''}</span>
      </div>
      {Object.entries(byField).map(([field, message]) => (
        <p key={field} className="form-error" role="alert">
          {field}: {message}
        </p>
      ))}
      {error != null && Object.keys(byField).length === 0 && <p className="form-error">Could not load items: {general.join('; ') || errorText(error)}</p>}
      {isFetching && !data && <p className="muted">Loading…</p>}
      {data && items.length === 0 && <div className="empty">No items match.</div>}
      {items.length > 0 && !error && (
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
              {items.map((item) => {
                const href = itemHref(projectId, item.id, search)
                return (
                  <tr key={item.id}>
                    <td>
                      <Link to={href}>#{item.id}</Link>
                      {item.external_id && <div className="muted small">{item.external_id}</div>}
                    </td>
                    <td className="prompt-cell">
                      <Link to={href} className="plain-link">
                        {truncate(firstPrompt(item), 140) || <span className="muted">(no prompt)</span>}
                      </Link>
                    </td>
                    <td>
                      <StatusTag status={item.status} />
                      {item.adjudicated && <span className="tag tag-settled">settled</span>}
                    </td>
                    <td>{item.is_gold ? <span className="tag tag-gold">gold</span> : ''}</td>
                    <td className="num">
                      {item.n_submitted ?? '—'} / {perItem}
                      {item.n_leased ? <div className="muted small">{item.n_leased} leased</div> : null}
                    </td>
                    <td className="num">{formatFigure(item.agreement)}</td>
                  </tr>
                )
              })}
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

/** The text filters, edited locally and applied together. */
function FilterForm({ search, errors, onApply }: { search: URLSearchParams; errors: Record<string, string>; onApply: (changes: Record<string, string | string[]>) => void }) {
  const initial = () => ({
    ...Object.fromEntries(TEXT_FILTERS.map((f) => [f.key, search.get(f.key) ?? ''])),
    metadata: search.getAll('metadata').join(', '),
  })
  const [draft, setDraft] = useState<Record<string, string>>(initial)
  const [metadataError, setMetadataError] = useState<string | null>(null)

  function submit(event: FormEvent) {
    event.preventDefault()
    const { pairs, error } = parseMetadata(draft.metadata)
    setMetadataError(error)
    if (error) return
    onApply({ ...Object.fromEntries(TEXT_FILTERS.map((f) => [f.key, draft[f.key].trim()])), metadata: pairs })
  }

  function clear() {
    setDraft(Object.fromEntries([...TEXT_FILTERS.map((f) => [f.key, '']), ['metadata', '']]))
    setMetadataError(null)
    onApply({ ...Object.fromEntries(TEXT_FILTERS.map((f) => [f.key, ''])), metadata: [] })
  }

  return (
    <form className="filters" onSubmit={submit} aria-label="Filter items" data-testid="item-filters">
      {TEXT_FILTERS.map((f) => (
        <label key={f.key} className="field-inline">
          {f.label}
          <input
            name={f.key}
            value={draft[f.key]}
            placeholder={f.placeholder}
            style={f.width ? { width: f.width } : undefined}
            aria-invalid={!!errors[f.key]}
            onChange={(e) => setDraft({ ...draft, [f.key]: e.target.value })}
          />
        </label>
      ))}
      <label className="field-inline">
        Metadata
        <input
          name="metadata"
          value={draft.metadata}
          placeholder="key=value, key=value"
          aria-invalid={!!(metadataError || errors.metadata)}
          onChange={(e) => setDraft({ ...draft, metadata: e.target.value })}
        />
      </label>
      <button type="submit" className="btn btn-sm">
        Apply
      </button>
      <button type="button" className="btn btn-sm btn-ghost" onClick={clear}>
        Clear
      </button>
      {metadataError && (
        <span className="form-error small" role="alert">
          {metadataError}
        </span>
      )}
    </form>
  )
}

export function StatusTag({ status }: { status?: string }) {
  if (!status) return <>—</>
  const title = status === 'needs_annotators' ? 'Every annotator of the project has answered or skipped it, and it still lacks answers: add annotators or lower the overlap.' : undefined
  return (
    <span className={`tag tag-status-${status}`} title={title}>
      {(STATUS_LABELS[status] ?? status).toLowerCase()}
    </span>
  )
}

function truncate(text: string, n: number): string {
  return text.length > n ? `${text.slice(0, n - 1)}…` : text
}

function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? '' : 's'}`
}
