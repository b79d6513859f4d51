// Launch a training job: a kind, a ready snapshot holding rows of the kind's format, models that fit
// the kind, and the kind's settings from its JSON schema. The server's `{"errors": [{"field"}]}` go
// under the control they name.
import { useMemo, useState, type FormEvent } from 'react'
import { FieldErrors } from '../components/Banners'
import { useSession } from '../lib/auth'
import { errorText } from '../lib/errors'
import { useWrite } from '../lib/useWrite'
import { Link, useNavigate, useSearchParams } from 'react-router'
import { baseModelsForKind, formatRows, rewardModels, snapshotsForKind, totalRows } from './filters'
import { formatParams } from './format'
import { SelectField } from './parts'
import { useAllSnapshots, useCreateJob, useKinds, useModels, type SnapshotWithProject } from './queries'
import { SchemaForm } from './SchemaForm'
import { initialValues, messagesFor, schemaFields, toConfig, type FormValue, type FormValues } from './schemaForm'
import type { TrainedModel, TrainingKind } from './types'

const PICKERS = ['kind', 'snapshot', 'base_model', 'reference_model', 'reward_model'] as const
// Kinds that close the loop; the Rounds tab of a project is their own form.
const LOOP_KINDS = ['generate', 'ai_annotate', 'constitutional']

export function NewJobPage() {
  const { me } = useSession()
  if (!me.is_staff) {
    return (
      <div className="page">
        <h1>New training job</h1>
        <p>Only admins start training jobs. <Link to="/training">Back to the jobs</Link>.</p>
      </div>
    )
  }
  return <NewJob />
}

function NewJob() {
  const navigate = useNavigate()
  const [search] = useSearchParams()
  const kinds = useKinds()
  const snapshots = useAllSnapshots()
  const models = useModels()
  const create = useCreateJob()
  const [kindName, setKindName] = useState(search.get('kind') ?? '')
  const [snapshotId, setSnapshotId] = useState(search.get('snapshot') ?? '')
  const [baseModel, setBaseModel] = useState('')
  const [referenceModel, setReferenceModel] = useState('')
  const [rewardModel, setRewardModel] = useState('')
  // Edits are kept per kind, so looking at another kind and back loses nothing.
  const [edits, setEdits] = useState<Record<string, FormValues>>({})
  const { errors, setErrors, run } = useWrite()

  const kind = kinds.data?.find((k) => k.kind === kindName) ?? kinds.data?.[0]
  const fields = useMemo(() => schemaFields(kind?.schema), [kind])
  const values = kind ? { ...initialValues(fields), ...edits[kind.kind] } : {}
  const usable = kind && snapshots.data ? snapshotsForKind(snapshots.data, kind) : []
  const bases = kind && models.data ? baseModelsForKind(models.data, kind) : []
  const rewards = models.data ? rewardModels(models.data) : []
  // A choice that the new kind no longer offers is dropped rather than sent.
  const snapshot = usable.find((s) => String(s.id) === snapshotId)
  const base = bases.find((m) => String(m.id) === baseModel)
  const reference = bases.find((m) => String(m.id) === referenceModel)
  const reward = rewards.find((m) => String(m.id) === rewardModel)

  const snapshotUse = kind?.snapshot ?? 'required'
  const takesBase = kind?.base_model !== false
  const fieldError = (name: string) => messagesFor(errors, name)
  const known = new Set<string>([...PICKERS, ...fields.map((f) => `config.${f.name}`)])
  const general = errors.filter((e) => !e.field || !known.has(e.field))
  const clear = () => setErrors([])
  const setValue = (name: string, value: FormValue) => {
    if (!kind) return
    clear()
    setEdits((all) => ({ ...all, [kind.kind]: { ...all[kind.kind], [name]: value } }))
  }

  async function submit(event: FormEvent) {
    event.preventDefault()
    if (!kind) return
    const { config, errors: invalid } = toConfig(fields, values)
    if (!snapshot && snapshotUse === 'required') invalid.push({ field: 'snapshot', message: 'Choose a snapshot.' })
    if (!base && takesBase) invalid.push({ field: 'base_model', message: 'Choose the model to start from.' })
    if (kind.reward_model && !reward) invalid.push({ field: 'reward_model', message: 'Choose a reward model.' })
    setErrors(invalid)
    if (invalid.length) return
    const body: Record<string, unknown> = { kind: kind.kind }
    if (snapshot && snapshotUse !== 'none') body.snapshot = snapshot.id
    if (base && takesBase) body.base_model = base.id
    body.config = config
    if (kind.reference_model && reference) body.reference_model = reference.id
    if (kind.reward_model || (kind.reward_model_optional && reward)) body.reward_model = reward?.id ?? null
    const job = await run(() => create.mutateAsync(body))
    if (job) navigate(`/training/${job.id}`)
  }

  const loadError = kinds.error ?? snapshots.error ?? models.error
  return (
    <div className="page page-wide">
      <div className="page-head">
        <div>
          <h1>New training job</h1>
          <p className="muted small">
            <Link to="/training">← All jobs</Link>
          </p>
        </div>
      </div>
      {loadError != null && <p className="form-error">Could not load what the form needs: {errorText(loadError)}</p>}
      {kinds.isPending && <p className="muted">Loading…</p>}
      {kinds.data?.length === 0 && <div className="empty">The server cannot run any kind of training job.</div>}
      {kind && (
        <form className="new-job" onSubmit={submit} noValidate aria-label="New training job">
          <section className="card" aria-labelledby="what-to-train">
            <h2 id="what-to-train">What to train</h2>
            <div className="new-job-grid">
              <SelectField label="Kind" name="kind" value={kind.kind} error={fieldError('kind')} onChange={(v) => (clear(), setKindName(v))}>
                {kinds.data!.map((k) => (
                  <option key={k.kind} value={k.kind}>
                    {k.label}
                  </option>
                ))}
              </SelectField>
              <p className="small muted new-job-kind" data-testid="kind-description">
                {kind.description} {snapshotUse !== 'none' && kind.snapshot_format && <span>Reads the snapshot’s <code>{kind.snapshot_format}</code> rows{snapshotUse === 'optional' ? ', if given one' : ''}.</span>}{' '}
                <span data-testid="kind-output">{outputText(kind)}</span>
                {LOOP_KINDS.includes(kind.kind) && <span> A project’s Rounds tab fills in its settings.</span>}
              </p>
              {snapshotUse !== 'none' && <SnapshotPicker kind={kind} snapshots={usable} loading={snapshots.isPending} value={snapshot ? String(snapshot.id) : ''} error={fieldError('snapshot')} onChange={(v) => (clear(), setSnapshotId(v))} optional={snapshotUse === 'optional'} />}
              {takesBase && <ModelPicker label="Base model" name="base_model" models={bases} loading={models.isPending} value={base ? String(base.id) : ''} error={fieldError('base_model')} onChange={(v) => (clear(), setBaseModel(v))} empty="Choose a model" hint={`${kind.kind === 'evaluate' ? 'the policy to evaluate: ' : ''}${kind.base_model_kinds.join(', ')} models, ${kind.base_model_tasks.join(' or ')}`} />}
              {kind.reference_model && (
                <ModelPicker label="Reference model" name="reference_model" models={bases} loading={models.isPending} value={reference ? String(reference.id) : ''} error={fieldError('reference_model')} onChange={(v) => (clear(), setReferenceModel(v))} empty={kind.kind === 'evaluate' ? 'The policy’s parent' : 'Same as the base model'} />
              )}
              {(kind.reward_model || kind.reward_model_optional) && (
                <ModelPicker
                  label="Reward model"
                  name="reward_model"
                  models={rewards}
                  loading={models.isPending}
                  value={reward ? String(reward.id) : ''}
                  error={fieldError('reward_model')}
                  onChange={(v) => (clear(), setRewardModel(v))}
                  empty={kind.reward_model ? 'Choose a reward model' : 'None'}
                  hint={kind.reward_model ? 'reward models with a classification head' : 'optional: scores held-out answers at each checkpoint, to draw reward against KL'}
                />
              )}
            </div>
          </section>
          <section className="card" aria-labelledby="job-settings">
            <div className="row-between">
              <h2 id="job-settings">Settings</h2>
              <button type="button" className="btn btn-sm" onClick={() => (clear(), setEdits((all) => ({ ...all, [kind.kind]: {} })))} disabled={!edits[kind.kind] || Object.keys(edits[kind.kind]).length === 0}>
                Reset to defaults
              </button>
            </div>
            <p className="small muted">Prefilled with the defaults; only the values you change are sent.</p>
            <SchemaForm fields={fields} values={values} onChange={setValue} errors={errors} disabled={create.isPending} />
          </section>
          <FieldErrors errors={general} />
          <div className="card-actions">
            <button type="submit" className="btn btn-primary" disabled={create.isPending}>
              {create.isPending ? 'Starting…' : 'Start training'}
            </button>
            <Link to="/training" className="btn">
              Cancel
            </Link>
          </div>
        </form>
      )}
    </div>
  )
}

/** What a job of this kind leaves behind. */
function outputText(kind: TrainingKind): string {
  if (kind.output_kind === undefined) return ''
  return kind.output_kind ? `Registers a ${kind.output_kind} model.` : 'Registers no model: it writes an evaluation.'
}

export function snapshotLabel(s: SnapshotWithProject, format: string): string {
  const bySplit = formatRows(s, format)
  const splits = Object.entries(bySplit).map(([split, n]) => `${split} ${n}`).join(', ')
  return `#${s.id} · ${s.projectName} · ${totalRows(bySplit)} ${format} rows (${splits})${s.fingerprint ? ` · ${s.fingerprint.slice(0, 8)}` : ''}`
}

function SnapshotPicker({ kind, snapshots, loading, value, error, onChange, optional }: { kind: TrainingKind; snapshots: SnapshotWithProject[]; loading: boolean; value: string; error: string; onChange: (v: string) => void; optional?: boolean }) {
  const hint = loading ? 'loading the snapshots…' : snapshots.length === 0 ? `No ready snapshot has ${kind.snapshot_format} rows: build one on a project’s Snapshots tab.` : `ready snapshots with ${kind.snapshot_format} rows`
  return (
    <SelectField label="Snapshot" name="snapshot" value={value} error={error} hint={hint} onChange={onChange}>
      <option value="">{optional ? 'None' : 'Choose a snapshot'}</option>
      {snapshots.map((s) => (
        <option key={s.id} value={s.id}>
          {snapshotLabel(s, kind.snapshot_format)}
        </option>
      ))}
    </SelectField>
  )
}

function ModelPicker({ label, name, models, loading, value, error, empty, hint, onChange }: { label: string; name: string; models: TrainedModel[]; loading: boolean; value: string; error: string; empty: string; hint?: string; onChange: (v: string) => void }) {
  const shown = loading ? 'loading the models…' : models.length === 0 ? `No registered model fits${hint ? ` (${hint})` : ''}.` : hint
  return (
    <SelectField label={label} name={name} value={value} error={error} hint={shown} onChange={onChange}>
      <option value="">{empty}</option>
      {models.map((m) => (
        <option key={m.id} value={m.id}>
          {m.name} · {m.kind} · {m.architecture || m.task} · {formatParams(m.parameter_count)}
        </option>
      ))}
    </SelectField>
  )
}
