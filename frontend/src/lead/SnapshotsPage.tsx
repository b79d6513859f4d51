// Dataset snapshots for leads: ask for one with the saved curation rules, follow it while a worker
// builds it, then list its counts and files with their hashes so a training run can be traced back.
import { useEffect, useRef, useState, type FormEvent } from 'react'
import { FieldErrors } from '../components/Banners'
import { formatBytes, Hash } from '../components/ui'
import { api, type FieldError } from '../lib/api'
import { errorText } from '../lib/errors'
import { pushNotice } from '../lib/notices'
import { useGet } from '../lib/queries'
import { Link } from 'react-router'
import type { CurationRules, Kind, Project, Snapshot, SnapshotCounts } from '../lib/types'
import { describeRules } from './curationRules'
import { LeadFrame } from './ProjectHeader'
import { isFinished, pollSnapshot } from './snapshotPoll'
import { apiPaths } from '../lib/paths'
import { useWrite } from '../lib/useWrite'

export function SnapshotsPage({ projectId }: { projectId: number }) {
  return <LeadFrame projectId={projectId}>{(project) => <Snapshots project={project} />}</LeadFrame>
}

export function Snapshots({ project }: { project: Project }) {
  const listPath = apiPaths.snapshots(project.id)
  const listed = useGet<Snapshot[]>(listPath)
  const saved = useGet<{ rules: Partial<CurationRules> }>(apiPaths.curation(project.id), { fresh: true })
  // Snapshots created or polled on this screen: at least as fresh as the list, so they win over its entries.
  const [local, setLocal] = useState<Snapshot[]>([])
  const [opened, setOpened] = useState<Set<number>>(new Set())
  const snapshots = listed.data ? newestFirst([...local, ...listed.data]) : local.length ? local : undefined
  const upsert = (snapshot: Snapshot) => setLocal((list) => newestFirst([snapshot, ...list]))

  return (
    <>
      <NewSnapshot
        project={project}
        rules={saved.data?.rules}
        rulesError={saved.error}
        onCreated={(snapshot) => {
          setOpened((s) => new Set(s).add(snapshot.id))
          upsert(snapshot)
        }}
      />
      <section aria-label="Snapshots" data-testid="snapshots">
        {listed.error != null && <p className="form-error">Could not load the snapshots: {errorText(listed.error)}</p>}
        {!snapshots && !listed.error && <p className="muted">Loading…</p>}
        {snapshots?.length === 0 && (
          <div className="empty">
            <h2>No snapshots yet</h2>
            <p>A snapshot freezes the curated answers into the files training reads.</p>
          </div>
        )}
        {snapshots?.map((s, i) => (
          <SnapshotCard key={s.id} snapshot={s} kind={project.kind} initiallyOpen={i === 0 || opened.has(s.id)} onUpdate={upsert} />
        ))}
      </section>
    </>
  )
}

/** One entry per id (the first one seen wins), newest first. */
function newestFirst(snapshots: Snapshot[]): Snapshot[] {
  const byId = new Map<number, Snapshot>()
  for (const s of snapshots) if (!byId.has(s.id)) byId.set(s.id, s)
  return [...byId.values()].sort((a, b) => b.id - a.id)
}

interface SnapshotForm {
  testFraction: string
  seed: string
  parquet: boolean
  bestVsRest: boolean
}

/** The POST body for the form, or the errors that keep it from being sent. */
export function snapshotRequest(form: SnapshotForm, kind: Kind, rules: Partial<CurationRules>): { body?: Record<string, unknown>; errors: FieldError[] } {
  const errors: FieldError[] = []
  const testFraction = Number(form.testFraction)
  if (form.testFraction.trim() === '' || !Number.isFinite(testFraction) || testFraction < 0 || testFraction > 0.9) {
    errors.push({ field: 'test_fraction', message: 'Enter a share from 0 to 0.9.' })
  }
  const seed = Number(form.seed)
  if (form.seed.trim() === '' || !Number.isSafeInteger(seed) || seed < 0) errors.push({ field: 'seed', message: 'Enter a whole number, 0 or more.' })
  if (errors.length) return { errors }
  const options: Record<string, unknown> = { parquet: form.parquet }
  if (kind === 'ranking') options.ranking_pairs = form.bestVsRest ? 'best_vs_rest' : 'all'
  return { body: { rules, test_fraction: testFraction, seed, options }, errors }
}

function NewSnapshot({ project, rules, rulesError, onCreated }: { project: Project; rules?: Partial<CurationRules>; rulesError: unknown; onCreated: (s: Snapshot) => void }) {
  const [form, setForm] = useState<SnapshotForm>({ testFraction: '0.1', seed: '0', parquet: false, bestVsRest: false })
  const { errors, setErrors, busy, run } = useWrite()
  const set = <K extends keyof SnapshotForm>(key: K, value: SnapshotForm[K]) => {
    setErrors([])
    setForm((f) => ({ ...f, [key]: value }))
  }
  const fieldError = (name: string) => errors.filter((e) => e.field === name || e.field?.startsWith(`${name}.`)).map((e) => e.message).join(' ')
  const general = errors.filter((e) => !['test_fraction', 'seed', 'options'].some((f) => e.field === f || e.field?.startsWith(`${f}.`)))

  async function create(event: FormEvent) {
    event.preventDefault()
    if (!rules) return
    const { body, errors: invalid } = snapshotRequest(form, project.kind, rules)
    setErrors(invalid)
    if (!body) return
    await run(async () => {
      const { data } = await api.post<Snapshot>(apiPaths.snapshots(project.id), body)
      onCreated(data)
      pushNotice('info', `Snapshot #${data.id} requested; a worker is building it.`)
    })
  }

  const described = rules ? describeRules(rules, project.kind) : []
  return (
    <form className="card new-snapshot" onSubmit={create} noValidate aria-label="New snapshot">
      <h2>New snapshot</h2>
      <div className="snapshot-form-row">
        <label className="field">
          <span>Test fraction</span>
          <input type="number" min={0} max={0.9} step={0.05} value={form.testFraction} onChange={(e) => set('testFraction', e.target.value)} aria-invalid={fieldError('test_fraction') ? true : undefined} />
          {fieldError('test_fraction') && <span className="field-error">{fieldError('test_fraction')}</span>}
        </label>
        <label className="field">
          <span>Seed</span>
          <input type="number" min={0} step={1} value={form.seed} onChange={(e) => set('seed', e.target.value)} aria-invalid={fieldError('seed') ? true : undefined} />
          {fieldError('seed') && <span className="field-error">{fieldError('seed')}</span>}
        </label>
        <div className="snapshot-options">
          <label className="check">
            <input type="checkbox" checked={form.parquet} onChange={(e) => set('parquet', e.target.checked)} /> Parquet files too
          </label>
          {project.kind === 'ranking' && (
            <label className="check" title="Each consensus ranking gives its K−1 best-vs-rest pairs instead of all C(K,2) pairs">
              <input type="checkbox" checked={form.bestVsRest} onChange={(e) => set('bestVsRest', e.target.checked)} /> Best-vs-rest pairs only
            </label>
          )}
          {fieldError('options') && <span className="field-error">{fieldError('options')}</span>}
        </div>
        <button type="submit" className="btn btn-primary" disabled={busy || !rules}>
          Create snapshot
        </button>
      </div>
      <div className="snapshot-rules small" data-testid="snapshot-rules">
        <span className="muted">Curation rules (saved):</span>{' '}
        {rulesError != null ? (
          <span className="form-error">could not load them ({errorText(rulesError)})</span>
        ) : !rules ? (
          <span className="muted">loading…</span>
        ) : described.length ? (
          described.map((d) => (
            <span key={d} className="tag">
              {d}
            </span>
          ))
        ) : (
          <span>none, every answer is kept</span>
        )}{' '}
        <Link to={`/projects/${project.id}/curation`}>Edit on the curation screen →</Link>
      </div>
      <FieldErrors errors={general} />
    </form>
  )
}

/** Follow a snapshot that is not finished yet; `lost` says why polling gave up, `retry` starts it again. */
function useFollow(snapshot: Snapshot, onUpdate: (s: Snapshot) => void): { lost: string | null; retry: () => void } {
  const [lost, setLost] = useState<string | null>(null)
  const [tick, setTick] = useState(0)
  const latest = useRef(onUpdate)
  latest.current = onUpdate
  const finished = isFinished(snapshot.state)
  useEffect(() => {
    if (finished) return
    const controller = new AbortController()
    setLost(null)
    pollSnapshot(snapshot.id, {
      fetchSnapshot: (id) => api.get<Snapshot>(apiPaths.snapshot(id)),
      onUpdate: (s) => latest.current(s),
      signal: controller.signal,
    }).then((result) => {
      if (result?.phase === 'lost') setLost(result.error)
    })
    return () => controller.abort()
  }, [snapshot.id, finished, tick])
  return { lost, retry: () => setTick((t) => t + 1) }
}

const STATE_TEXT = { pending: 'Waiting for a worker…', building: 'Building the files…', ready: '', failed: '' }

function SnapshotCard({ snapshot: s, kind, initiallyOpen, onUpdate }: { snapshot: Snapshot; kind: Kind; initiallyOpen: boolean; onUpdate: (s: Snapshot) => void }) {
  const [open, setOpen] = useState(initiallyOpen)
  const { lost, retry } = useFollow(s, onUpdate)
  const counts = s.counts ?? {}
  return (
    <article className="card snapshot" data-testid="snapshot" data-id={s.id} data-state={s.state} aria-label={`Snapshot ${s.id}`}>
      <div className="snapshot-head">
        <h3>Snapshot #{s.id}</h3>
        <span className={`tag tag-state-${s.state}`} data-testid="snapshot-state">
          {s.state}
        </span>
        <span className="muted small">
          {s.created_by ? `by ${s.created_by} · ` : ''}
          {new Date(s.created_at).toLocaleString()}
          {s.finished_at && ` · built in ${seconds(s.created_at, s.finished_at)}`}
        </span>
        <span className="snapshot-head-end">
          {s.fingerprint && (
            <span className="small" data-testid="fingerprint">
              <span className="muted">fingerprint </span>
              <Hash value={s.fingerprint} label="fingerprint" />
            </span>
          )}
          {s.state === 'ready' && (
            <button type="button" className="btn btn-sm" aria-expanded={open} onClick={() => setOpen((o) => !o)}>
              {open ? 'Hide files' : `Files (${s.files.length})`}
            </button>
          )}
        </span>
      </div>
      {!isFinished(s.state) && !lost && (
        <p className="muted snapshot-progress" role="status">
          <span className="spinner" aria-hidden="true" /> {STATE_TEXT[s.state]}
        </p>
      )}
      {lost && (
        <div className="banner banner-warn" role="status">
          Lost track of this snapshot ({lost}).
          <button type="button" className="btn btn-sm" onClick={retry}>
            Check again
          </button>
        </div>
      )}
      {s.state === 'failed' && (
        <div className="banner banner-error" role="alert" data-testid="snapshot-error">
          <strong>The build failed.</strong> <span>{s.error || 'No reason was recorded.'}</span>
        </div>
      )}
      {s.state === 'ready' && <CountsLine counts={counts} kind={kind} />}
      <SettingsLine snapshot={s} kind={kind} />
      {s.state === 'ready' && open && (
        <div className="snapshot-body">
          <Splits counts={counts} kind={kind} />
          <Files snapshot={s} />
        </div>
      )}
    </article>
  )
}

function seconds(from: string, to: string): string {
  const ms = new Date(to).getTime() - new Date(from).getTime()
  return ms < 60_000 ? `${(ms / 1000).toFixed(1)} s` : `${Math.round(ms / 60_000)} min`
}

function CountsLine({ counts, kind }: { counts: SnapshotCounts; kind: Kind }) {
  const figures: [string, number | undefined][] =
    kind === 'demonstration'
      ? [['items', counts.items], ['answers', counts.answers], ['prompts', counts.prompts]]
      : [['items', counts.items], ['answers', counts.answers], ['pairs', counts.pairs], ['ties left out', counts.skipped_ties], ['settled by a lead', counts.adjudicated || undefined], ['prompts', counts.prompts]]
  return (
    <div className="snapshot-counts" data-testid="snapshot-counts">
      {figures
        .filter(([, n]) => n !== undefined)
        .map(([label, n]) => (
          <span key={label} className="snapshot-count" data-count={label}>
            <strong>{n}</strong> {label}
          </span>
        ))}
      {counts.raw_answers !== undefined && <span className="muted small">of {counts.raw_answers} raw answers</span>}
    </div>
  )
}

function SettingsLine({ snapshot: s, kind }: { snapshot: Snapshot; kind: Kind }) {
  const rules = describeRules(s.rules, kind)
  return (
    <p className="small muted snapshot-settings">
      test {Math.round(s.test_fraction * 100)}% · seed {s.seed} · {s.options.parquet ? 'JSONL + Parquet' : 'JSONL'}
      {kind === 'ranking' && ` · ${s.options.ranking_pairs === 'best_vs_rest' ? 'best-vs-rest pairs' : 'all pairs'}`} · rules: {rules.length ? rules.join(', ') : 'none'}
      {s.library_version && ` · ${s.library_version}`}
    </p>
  )
}

function Splits({ counts, kind }: { counts: SnapshotCounts; kind: Kind }) {
  const splits = Object.entries(counts.splits ?? {})
  if (splits.length === 0) return <div />
  return (
    <div className="table-wrap">
      <table className="table table-compact" data-testid="snapshot-splits">
        <thead>
          <tr>
            <th>Split</th>
            <th className="num">Prompts</th>
            <th className="num">Items</th>
            <th className="num">Answers</th>
            {kind !== 'demonstration' && <th className="num">Pairs</th>}
          </tr>
        </thead>
        <tbody>
          {splits.map(([name, c]) => (
            <tr key={name} data-split={name}>
              <td>{name}</td>
              <td className="num">{c.prompts}</td>
              <td className="num">{c.items}</td>
              <td className="num">{c.answers}</td>
              {kind !== 'demonstration' && <td className="num">{c.pairs}</td>}
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  )
}

function Files({ snapshot }: { snapshot: Snapshot }) {
  return (
    <div className="table-wrap">
      <table className="table table-compact snapshot-files" data-testid="snapshot-files">
        <thead>
          <tr>
            <th>File</th>
            <th className="num">Rows</th>
            <th>sha256</th>
            <th className="num">Size</th>
          </tr>
        </thead>
        <tbody>
          {snapshot.files.map((f) => (
            <tr key={f.name} data-file={f.name}>
              <td>
                <a href={f.url} download={f.name}>
                  {f.name}
                </a>
              </td>
              <td className="num">{f.rows}</td>
              <td>
                <Hash value={f.sha256} />
              </td>
              <td className="num" title={`${f.bytes} bytes`}>
                {formatBytes(f.bytes)}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  )
}
