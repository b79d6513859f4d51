// Curation rules for leads: one table that is both the form and the preview. Each rule sits on
// the row that shows what it removes, in the order the API applies them, and the preview follows
// the lead's edits (debounced) so the effect of a threshold is visible before it is saved.
import { useEffect, useMemo, useRef, useState, type FormEvent, type ReactNode } from 'react'
import { FieldErrors } from '../components/Banners'
import { api, ApiError } from '../lib/api'
import { errorText } from '../lib/errors'
import { pushNotice } from '../lib/notices'
import { useGet } from '../lib/queries'
import { Link } from 'react-router'
import type { CurationPreview, CurationRules, Kind, Project } from '../lib/types'
import { errorsByField, formToRules, NUMBER_RULES, RULE_LABELS, rulesToForm, sameRules, waterfall, type NumberRule, type RulesForm, type WaterfallRow } from './curationRules'
import { LeadFrame } from './ProjectHeader'
import { apiPaths } from '../lib/paths'
import { useWrite } from '../lib/useWrite'

export const PREVIEW_DEBOUNCE_MS = 350

export function CurationPage({ projectId }: { projectId: number }) {
  return <LeadFrame projectId={projectId}>{(project) => <Curation project={project} />}</LeadFrame>
}

function Curation({ project }: { project: Project }) {
  const { data, error } = useGet<{ rules: Partial<CurationRules> }>(apiPaths.curation(project.id), { fresh: true })
  if (error != null) return <p className="form-error">Could not load the curation rules: {errorText(error)}</p>
  if (!data) return <p className="muted">Loading…</p>
  return <CurationEditor project={project} saved={data.rules} />
}

interface PreviewState {
  data?: CurationPreview
  error?: unknown
  loading: boolean
}

/** POST the rules to the preview once they have stopped changing for a moment; null rules (invalid input) ask nothing. */
export function useCurationPreview(projectId: number, rules: CurationRules | null, delayMs = PREVIEW_DEBOUNCE_MS): PreviewState {
  const [state, setState] = useState<PreviewState>({ loading: rules !== null })
  const key = rules === null ? null : JSON.stringify(rules)
  const first = useRef(true)
  useEffect(() => {
    if (key === null) {
      setState((s) => ({ ...s, loading: false })) // nothing asked while a box holds an invalid value
      return
    }
    let live = true
    setState((s) => ({ ...s, loading: true }))
    const timer = setTimeout(
      () =>
        api.post<CurationPreview>(apiPaths.curationPreview(projectId), { rules: JSON.parse(key) }).then(
          ({ data }) => live && setState({ data, loading: false }),
          (error: unknown) => live && setState((s) => ({ data: s.data, error, loading: false })),
        ),
      first.current ? 0 : delayMs,
    )
    first.current = false
    return () => {
      live = false
      clearTimeout(timer)
    }
  }, [projectId, key, delayMs])
  return state
}

export function CurationEditor({ project, saved }: { project: Project; saved: Partial<CurationRules> }) {
  const [savedForm, setSavedForm] = useState(() => rulesToForm(saved))
  const [form, setForm] = useState(savedForm)
  const { errors: saveErrors, setErrors: setSaveErrors, busy, run } = useWrite()
  const { rules, errors: inputErrors } = useMemo(() => formToRules(form), [form])
  const preview = useCurationPreview(project.id, inputErrors.length ? null : rules)
  const previewErrors = preview.error instanceof ApiError && preview.error.status === 400 ? preview.error.errors : []
  const { byField, general } = errorsByField([...inputErrors, ...previewErrors, ...saveErrors])
  const dirty = !sameRules(form, savedForm)

  const set = <K extends keyof RulesForm>(key: K, value: RulesForm[K]) => {
    setSaveErrors([])
    setForm((f) => ({ ...f, [key]: value }))
  }

  async function save(event: FormEvent) {
    event.preventDefault()
    await run(async () => {
      const data = await api.put<{ rules: Partial<CurationRules> }>(apiPaths.curation(project.id), { rules })
      const next = rulesToForm(data.rules)
      setSavedForm(next)
      setForm(next)
      pushNotice('ok', 'Curation rules saved. New snapshots use them.')
    })
  }

  const comparisons = project.kind !== 'demonstration' && preview.data?.initial !== null
  const field = { form, set, errors: byField }
  return (
    <form className="card curation" onSubmit={save} noValidate aria-label="Curation rules">
      <div className="row-between curation-head">
        <div>
          <h2>Curation rules</h2>
          <p className="small muted">
            {comparisons
              ? 'Rules apply top to bottom, each to what the ones above left. An empty box turns a rule off.'
              : 'Curation applies to comparisons only (pairwise and ranking projects). For demonstrations, only leaving out flagged answers applies.'}
          </p>
        </div>
        <div className="curation-actions">
          {dirty && <span className="tag tag-unsaved">unsaved changes</span>}
          {dirty && (
            <button type="button" className="btn btn-sm btn-ghost" onClick={() => setForm(savedForm)}>
              Revert
            </button>
          )}
          <button type="submit" className="btn btn-primary" disabled={busy || !dirty || inputErrors.length > 0}>
            Save rules
          </button>
        </div>
      </div>
      <FieldErrors errors={general} />
      {preview.error != null && previewErrors.length === 0 && <p className="form-error small">The preview is unavailable right now ({errorText(preview.error)}).</p>}
      {comparisons ? (
        <ComparisonRules kind={project.kind} preview={preview} field={field} />
      ) : (
        <div className="curation-demo">
          <RuleCheck name="exclude_flagged" field={field} text="Leave out answers their annotator flagged" />
        </div>
      )}
      {comparisons && preview.data?.remaining && <ConsensusBar remaining={preview.data.remaining} kind={project.kind} />}
      <p className="small muted curation-foot">
        New snapshots use the saved rules: <Link to={`/projects/${project.id}/snapshots`}>Snapshots →</Link>
      </p>
    </form>
  )
}

interface FieldProps {
  form: RulesForm
  set: <K extends keyof RulesForm>(key: K, value: RulesForm[K]) => void
  errors: Partial<Record<keyof CurationRules, string>>
}

const HELP: Record<string, string> = {
  model_annotators: 'Answers given by a model (an AI annotator), not a person.',
  exclude_flagged: 'Answers their annotator flagged.',
  exclude_both_bad: 'Answers that marked both responses bad.',
  min_annotator_reliability: 'Dawid–Skene reliability, 0–1.',
  min_gold_accuracy: 'Share of gold answers right, 0–1; no gold answers: kept.',
  min_answers_per_item: 'Items left with fewer answers are dropped.',
  min_item_agreement: 'Share of agreeing answer pairs, 0–1.',
  ties: 'Items whose consensus is a tie.',
  min_abs_strength: 'Mean strength toward the consensus, 0–3.',
}

function units(kind: Kind): { answers: string; items: string } {
  return kind === 'ranking' ? { answers: 'Pair votes', items: 'Pairs' } : { answers: 'Answers', items: 'Items' }
}

/** A ranking preview counts rankings and ranked items too; this table shows what its rules act on: pairs and pair votes. */
export function inPairUnits(data: CurationPreview): CurationPreview {
  type Counts = Record<string, number>
  const pick = (c: Counts, prefix: string) => ({ [`${prefix}answers`]: c[`${prefix}pair_votes`] ?? c[`${prefix}answers`], [`${prefix}items`]: c[`${prefix}pairs`] ?? c[`${prefix}items`] })
  const counts = (c: object | null) => c && { ...c, ...pick(c as Counts, '') }
  return {
    ...data,
    initial: counts(data.initial) as CurationPreview['initial'],
    remaining: counts(data.remaining) as CurationPreview['remaining'],
    preview: data.preview.map((step) => ({ ...step, ...pick(step as unknown as Counts, 'removed_'), ...pick(step as unknown as Counts, 'remaining_') })),
  }
}

function ComparisonRules({ kind, preview, field }: { kind: Kind; preview: PreviewState; field: FieldProps }) {
  const data = kind === 'ranking' && preview.data ? inPairUnits(preview.data) : preview.data
  const rows = new Map((data ? waterfall(data) : []).map((r) => [r.rule, r]))
  const initial = data?.initial
  const u = units(kind)
  const row = (rule: string, setting: ReactNode) => <RuleRow key={rule} rule={rule} step={rows.get(rule)} setting={setting} />
  return (
    <>
      {data?.initial && data.remaining && <Summary initial={data.initial} remaining={data.remaining} kind={kind} />}
      {kind === 'ranking' && <p className="small muted">Rankings are curated as the response pairs they decompose into; each ranking gives one vote per pair.</p>}
      <div className="table-wrap">
        <table className={preview.loading ? 'table curation-table updating' : 'table curation-table'} data-testid="curation-preview" aria-busy={preview.loading}>
          <thead>
            <tr>
              <th>Rule</th>
              <th>Setting</th>
              <th className="num">{u.answers} removed</th>
              <th className="num">{u.items} removed</th>
              <th className="num">{u.answers} left</th>
              <th className="num">{u.items} left</th>
              <th className="waterfall-col">
                <span className="sr-only">Share of {u.answers.toLowerCase()} left</span>
                {preview.loading && <span className="updating-label">updating…</span>}
              </th>
            </tr>
          </thead>
          <tbody>
            <tr className="curation-initial" data-rule="initial">
              <td>
                <strong>Before curation</strong>
              </td>
              <td />
              <td />
              <td />
              <td className="num" data-count="answers">{initial?.answers ?? '—'}</td>
              <td className="num" data-count="items">{initial?.items ?? '—'}</td>
              <td>{initial && <WaterfallBar kept={initial.answers > 0 ? 1 : 0} removed={0} />}</td>
            </tr>
            {row(
              'model_annotators',
              <>
                <select id="rule-model_annotators" value={field.form.model_annotators} onChange={(e) => field.set('model_annotators', e.target.value as RulesForm['model_annotators'])}>
                  <option value="include">Include</option>
                  <option value="exclude">Leave out</option>
                </select>
                <FieldMessage message={field.errors.model_annotators} />
              </>,
            )}
            {row('exclude_flagged', <RuleCheck name="exclude_flagged" field={field} text="Leave out" />)}
            {row('exclude_both_bad', <RuleCheck name="exclude_both_bad" field={field} text="Leave out" />)}
            {row('min_annotator_reliability', <RuleNumber name="min_annotator_reliability" field={field} />)}
            {row('min_gold_accuracy', <RuleNumber name="min_gold_accuracy" field={field} />)}
            {row('min_answers_per_item', <RuleNumber name="min_answers_per_item" field={field} />)}
            {row('min_item_agreement', <RuleNumber name="min_item_agreement" field={field} />)}
            <tr className="curation-consensus">
              <td>
                <label htmlFor="rule-consensus">Consensus method</label>
                <div className="muted small">Decided here, from the answers still standing.</div>
              </td>
              <td>
                <select id="rule-consensus" value={field.form.consensus} onChange={(e) => field.set('consensus', e.target.value as RulesForm['consensus'])}>
                  <option value="majority">Majority vote</option>
                  <option value="dawid_skene">Dawid–Skene</option>
                </select>
                <FieldMessage message={field.errors.consensus} />
              </td>
              <td colSpan={5} />
            </tr>
            <tr className="curation-consensus">
              <td>
                <label htmlFor="rule-adjudication">Lead rulings</label>
                <div className="muted small">A settled item's consensus is the lead's ruling; it passes the answer-count and agreement rules.</div>
              </td>
              <td>
                <select id="rule-adjudication" value={field.form.adjudication} onChange={(e) => field.set('adjudication', e.target.value as RulesForm['adjudication'])}>
                  <option value="use">Use</option>
                  <option value="ignore">Ignore</option>
                </select>
                <FieldMessage message={field.errors.adjudication} />
              </td>
              <td colSpan={5} />
            </tr>
            {row(
              'ties',
              <>
                <select id="rule-ties" value={field.form.ties} onChange={(e) => field.set('ties', e.target.value as RulesForm['ties'])}>
                  <option value="keep">Keep</option>
                  <option value="drop">Drop</option>
                </select>
                <FieldMessage message={field.errors.ties} />
              </>,
            )}
            {row('min_abs_strength', <RuleNumber name="min_abs_strength" field={field} />)}
          </tbody>
          {data?.remaining && (
            <tfoot>
              <tr className="curation-total" data-rule="remaining">
                <td colSpan={4}>
                  <strong>Left for training</strong>
                </td>
                <td className="num" data-count="answers">
                  <strong>{data.remaining.answers}</strong>
                </td>
                <td className="num" data-count="items">
                  <strong>{data.remaining.items}</strong>
                </td>
                <td />
              </tr>
            </tfoot>
          )}
        </table>
      </div>
    </>
  )
}

function RuleRow({ rule, step, setting }: { rule: string; step?: WaterfallRow; setting: ReactNode }) {
  const off = step ? !step.active : false
  return (
    <tr className={off ? 'rule-off' : undefined} data-rule={rule}>
      <td>
        <label htmlFor={`rule-${rule}`}>{RULE_LABELS[rule]}</label>
        <div className="muted small">{HELP[rule]}</div>
      </td>
      <td className="rule-setting">{setting}</td>
      <td className="num" data-count="removed_answers">{step ? (step.active ? minus(step.removedAnswers) : 'off') : '—'}</td>
      <td className="num" data-count="removed_items">{step?.active ? minus(step.removedItems) : ''}</td>
      <td className="num" data-count="answers">{step?.remainingAnswers ?? '—'}</td>
      <td className="num" data-count="items">{step?.remainingItems ?? '—'}</td>
      <td>{step && <WaterfallBar kept={step.kept} removed={step.removed} />}</td>
    </tr>
  )
}

const minus = (n: number) => (n > 0 ? `−${n}` : '0')

function RuleNumber({ name, field }: { name: NumberRule; field: FieldProps }) {
  const spec = NUMBER_RULES[name]
  const error = field.errors[name]
  return (
    <>
      <span className="rule-input">
        <span className="muted small">at least</span>
        <input
          id={`rule-${name}`}
          type="number"
          inputMode="decimal"
          min={spec.min}
          max={spec.max}
          step={spec.step}
          placeholder="off"
          value={field.form[name]}
          aria-invalid={error ? true : undefined}
          aria-describedby={error ? `rule-${name}-error` : undefined}
          onChange={(e) => field.set(name, e.target.value)}
        />
      </span>
      <FieldMessage id={`rule-${name}-error`} message={error} />
    </>
  )
}

function RuleCheck({ name, field, text }: { name: 'exclude_flagged' | 'exclude_both_bad'; field: FieldProps; text: string }) {
  return (
    <>
      <label className="check rule-check">
        <input id={`rule-${name}`} type="checkbox" checked={field.form[name]} onChange={(e) => field.set(name, e.target.checked)} /> {text}
      </label>
      <FieldMessage message={field.errors[name]} />
    </>
  )
}

function FieldMessage({ message, id }: { message?: string; id?: string }) {
  if (!message) return null
  return (
    <div className="field-error" id={id} role="alert">
      {message}
    </div>
  )
}

export function WaterfallBar({ kept, removed }: { kept: number; removed: number }) {
  const pct = (v: number) => `${Math.max(0, Math.min(100, v * 100)).toFixed(1)}%`
  return (
    <div className="waterfall" title={`${pct(kept)} left${removed > 0 ? `, ${pct(removed)} removed here` : ''}`}>
      <div className="waterfall-kept" style={{ width: pct(kept) }} />
      {removed > 0 && <div className="waterfall-removed" style={{ left: pct(kept), width: pct(removed) }} />}
    </div>
  )
}

function Summary({ initial, remaining, kind }: { initial: { answers: number; items: number }; remaining: { answers: number; items: number }; kind: Kind }) {
  const u = units(kind)
  const share = initial.answers > 0 ? Math.round((remaining.answers / initial.answers) * 100) : 0
  if (initial.answers === 0) return <p className="muted">No answers yet: the preview fills in as annotators answer.</p>
  return (
    <div className="curation-summary" data-testid="curation-summary">
      <span>
        <strong>{initial.answers}</strong> {u.answers.toLowerCase()} on <strong>{initial.items}</strong> {u.items.toLowerCase()}
      </span>
      <span className="muted">→</span>
      <span>
        <strong data-testid="remaining-answers">{remaining.answers}</strong> {u.answers.toLowerCase()} on{' '}
        <strong data-testid="remaining-items">{remaining.items}</strong> {u.items.toLowerCase()} kept
      </span>
      <span className="tag">{share}%</span>
    </div>
  )
}

function ConsensusBar({ remaining, kind }: { remaining: NonNullable<CurationPreview['remaining']>; kind: Kind }) {
  const { first, tie, second } = remaining.consensus
  const total = first + tie + second
  // A ranking's pairs have no meaningful first side, only decided or tied.
  const parts =
    kind === 'ranking'
      ? [
          { key: 'first', label: 'Decided', n: first + second },
          { key: 'tie', label: 'Tie', n: tie },
        ]
      : [
          { key: 'first', label: 'First response (as imported) preferred', n: first },
          { key: 'tie', label: 'Tie', n: tie },
          { key: 'second', label: 'Second response preferred', n: second },
        ]
  return (
    <section className="consensus" aria-label="Consensus of what is left" data-testid="consensus">
      <h3 className="small">Consensus of the {units(kind).items.toLowerCase()} left</h3>
      {total === 0 ? (
        <p className="muted small">Nothing is left.</p>
      ) : (
        <>
          <div className="consensus-bar">
            {parts.map((p) => p.n > 0 && <div key={p.key} className={`consensus-${p.key}`} style={{ width: `${(p.n / total) * 100}%` }} title={`${p.label}: ${p.n}`} />)}
          </div>
          <ul className="consensus-legend small">
            {parts.map((p) => (
              <li key={p.key}>
                <span className={`swatch consensus-${p.key}`} /> {p.label}: <strong data-consensus={p.key}>{p.n}</strong> ({Math.round((p.n / total) * 100)}%)
              </li>
            ))}
          </ul>
          {tie > 0 && <p className="muted small">Ties have no chosen side: snapshots count them but leave them out of the preference files.</p>}
        </>
      )}
    </section>
  )
}
