// Constitutions of a project (each principle a critique request and a revision request), a small
// editor for a new one, and launching a constitutional job: a policy critiques and revises its
// answers to this project's prompts by one constitution, into a dataset or another project.
import { useId, useState } from 'react'
import { FieldErrors } from '../../components/Banners'
import type { FieldError } from '../../lib/api'
import { useSession } from '../../lib/auth'
import { useWrite } from '../../lib/useWrite'
import { useNavigate } from 'react-router'
import type { Project } from '../../lib/types'
import { useCreateJob } from '../queries'
import type { TrainedModel, TrainingKind } from '../types'
import { constitutionBody, EMPTY_DRAFT, EMPTY_PRINCIPLE, normaliseField, type ConstitutionDraft } from './constitutionForm'
import { AdminLaunches, mayLaunch, ModelSelect, policyModels, Problem } from './parts'
import { notDeployed, useConstitutions, useCreateConstitution, useProjects } from './queries'
import type { Constitution } from './types'
import { apiPaths } from '../../lib/paths'

interface Props {
  project: Project
  models: TrainedModel[]
  modelsLoading: boolean
  kind: TrainingKind | null | undefined
}

export function Constitutions({ project, models, modelsLoading, kind }: Props) {
  const list = useConstitutions(project.id)
  const missing = notDeployed(list.error)
  return (
    <section className="card" aria-labelledby="constitutions" data-testid="constitutions">
      <h2 id="constitutions">Constitutions</h2>
      <p className="small muted">Principles a policy critiques and revises its own answers by; a constitutional job turns them into preference data or new items.</p>
      {list.error != null && <Problem error={list.error} what="The list of constitutions" endpoint={`GET ${apiPaths.constitutions(project.id)}`} />}
      {list.isPending && <p className="muted small">Loading…</p>}
      {list.data?.length === 0 && <p className="muted small">No constitution yet.</p>}
      {list.data && list.data.length > 0 && <ConstitutionList constitutions={list.data} />}
      {!missing && <ConstitutionEditor projectId={project.id} />}
      {!missing && <ConstitutionalLaunch project={project} constitutions={list.data ?? []} models={models} modelsLoading={modelsLoading} kind={kind} />}
    </section>
  )
}

function ConstitutionList({ constitutions }: { constitutions: Constitution[] }) {
  return (
    <ul className="constitution-list" data-testid="constitution-list">
      {constitutions.map((c) => (
        <li key={c.id} data-constitution={c.id}>
          <details>
            <summary>
              <strong>{c.name}</strong> <span className="small muted">· {c.principles.length} {c.principles.length === 1 ? 'principle' : 'principles'}</span>
            </summary>
            <ol className="principles">
              {c.principles.map((p, i) => (
                <li key={i}>
                  <div>
                    <span className="small muted">Critique:</span> {p.critique}
                  </div>
                  <div>
                    <span className="small muted">Revision:</span> {p.revision}
                  </div>
                </li>
              ))}
            </ol>
          </details>
        </li>
      ))}
    </ul>
  )
}

function ConstitutionEditor({ projectId }: { projectId: number }) {
  const [open, setOpen] = useState(false)
  const [draft, setDraft] = useState<ConstitutionDraft>(EMPTY_DRAFT)
  const { errors, setErrors, run } = useWrite()
  const create = useCreateConstitution(projectId)
  const nameId = useId()
  const shown = errors.map((e) => ({ ...e, field: normaliseField(e.field) }))
  const fieldError = (field: string) => shown.filter((e) => e.field === field).map((e) => e.message).join(' ')
  const known = (field?: string) => field === 'name' || /^principles\.\d+\.(critique|revision)$/.test(field ?? '')
  const edit = (next: ConstitutionDraft) => (setErrors([]), setDraft(next))
  const setPrinciple = (i: number, key: 'critique' | 'revision', value: string) =>
    edit({ ...draft, principles: draft.principles.map((p, j) => (j === i ? { ...p, [key]: value } : p)) })

  async function save() {
    const { body, errors: invalid } = constitutionBody(draft)
    setErrors(invalid)
    if (!body) return
    await run(async () => {
      await create.mutateAsync(body)
      setDraft(EMPTY_DRAFT)
      setOpen(false)
    })
  }

  if (!open) {
    return (
      <div className="card-actions">
        <button type="button" className="btn" onClick={() => setOpen(true)}>
          New constitution
        </button>
      </div>
    )
  }
  return (
    <form className="constitution-editor" aria-label="New constitution" onSubmit={(e) => (e.preventDefault(), save())} noValidate>
      <div className="field">
        <label htmlFor={nameId}>Name</label>
        <input id={nameId} name="name" value={draft.name} onChange={(e) => edit({ ...draft, name: e.target.value })} aria-invalid={fieldError('name') ? true : undefined} />
        {fieldError('name') && <span className="field-error">{fieldError('name')}</span>}
      </div>
      <ol className="principles principles-edit">
        {draft.principles.map((p, i) => (
          <li key={i} data-principle={i}>
            <PrincipleBox label={`Principle ${i + 1}: critique request`} value={p.critique} error={fieldError(`principles.${i}.critique`)} onChange={(v) => setPrinciple(i, 'critique', v)} placeholder="Identify ways in which the answer is harmful, unethical or inaccurate." />
            <PrincipleBox label={`Principle ${i + 1}: revision request`} value={p.revision} error={fieldError(`principles.${i}.revision`)} onChange={(v) => setPrinciple(i, 'revision', v)} placeholder="Rewrite the answer to remove what the critique found." />
            {draft.principles.length > 1 && (
              <button type="button" className="btn btn-ghost btn-xs" onClick={() => edit({ ...draft, principles: draft.principles.filter((_, j) => j !== i) })} aria-label={`Remove principle ${i + 1}`}>
                Remove
              </button>
            )}
          </li>
        ))}
      </ol>
      <FieldErrors errors={shown.filter((e) => !known(e.field))} />
      <div className="card-actions">
        <button type="button" className="btn btn-sm" onClick={() => edit({ ...draft, principles: [...draft.principles, EMPTY_PRINCIPLE] })}>
          Add a principle
        </button>
        <button type="submit" className="btn btn-primary" disabled={create.isPending}>
          {create.isPending ? 'Saving…' : 'Save constitution'}
        </button>
        <button type="button" className="btn" onClick={() => (setOpen(false), setErrors([]))}>
          Cancel
        </button>
      </div>
    </form>
  )
}

function PrincipleBox({ label, value, error, onChange, placeholder }: { label: string; value: string; error: string; onChange: (v: string) => void; placeholder: string }) {
  const id = useId()
  return (
    <div className="field">
      <label htmlFor={id}>{label}</label>
      <textarea id={id} rows={2} value={value} placeholder={placeholder} onChange={(e) => onChange(e.target.value)} aria-invalid={error ? true : undefined} aria-describedby={error ? `${id}-error` : undefined} />
      {error && (
        <span id={`${id}-error`} className="field-error">
          {error}
        </span>
      )}
    </div>
  )
}

function ConstitutionalLaunch({ project, constitutions, models, modelsLoading, kind }: { project: Project; constitutions: Constitution[]; models: TrainedModel[]; modelsLoading: boolean; kind: TrainingKind | null | undefined }) {
  const navigate = useNavigate()
  const { me } = useSession()
  const [policy, setPolicy] = useState('')
  const [constitution, setConstitution] = useState('')
  const [destination, setDestination] = useState<'dataset' | 'project'>('dataset')
  const [target, setTarget] = useState('')
  const { errors, setErrors, run } = useWrite()
  const projects = useProjects()
  const create = useCreateJob()
  const ids = { constitution: useId(), target: useId() }
  const fieldError = (field: string) => errors.filter((e) => e.field === field).map((e) => e.message).join(' ')
  const known = new Set(['base_model', 'config.constitution', 'config.target_project'])
  const targets = (projects.data ?? []).filter((p) => p.id !== project.id)
  const clear = () => setErrors([])

  async function launch() {
    const invalid: FieldError[] = []
    if (!policy) invalid.push({ field: 'base_model', message: 'Choose the policy that critiques and revises.' })
    if (!constitution) invalid.push({ field: 'config.constitution', message: 'Choose a constitution.' })
    if (destination === 'project' && !target) invalid.push({ field: 'config.target_project', message: 'Choose the project the items go to.' })
    setErrors(invalid)
    if (invalid.length) return
    const config = { project: project.id, constitution: Number(constitution), destination, target_project: destination === 'project' ? Number(target) : null }
    const job = await run(() => create.mutateAsync({ kind: 'constitutional', base_model: Number(policy), config }))
    if (job) navigate(`/training/${job.id}`)
  }

  return (
    <div className="constitutional-launch" data-testid="constitutional-launch">
      <h3>Constitutional job</h3>
      {!mayLaunch(me) ? (
        <AdminLaunches what="a constitutional job" />
      ) : (
        <>
          {kind === null && <p className="banner banner-info small">This server cannot run <code>constitutional</code> jobs yet.</p>}
          <div className="new-job-grid">
            <ModelSelect label="Policy" name="constitutional_policy" models={policyModels(models)} loading={modelsLoading} value={policy} onChange={(v) => (clear(), setPolicy(v))} empty="Choose a model" error={fieldError('base_model')} hint="answers this project’s prompts, then critiques and revises them" />
            <div className="field">
              <label htmlFor={ids.constitution}>Constitution</label>
              <select id={ids.constitution} name="constitution" value={constitution} onChange={(e) => (clear(), setConstitution(e.target.value))} aria-invalid={fieldError('config.constitution') ? true : undefined}>
                <option value="">{constitutions.length ? 'Choose a constitution' : 'No constitution yet'}</option>
                {constitutions.map((c) => (
                  <option key={c.id} value={c.id}>
                    {c.name}
                  </option>
                ))}
              </select>
              {fieldError('config.constitution') && <span className="field-error">{fieldError('config.constitution')}</span>}
            </div>
            <fieldset className="field">
              <legend>Write the revised answers</legend>
              <label className="check">
                <input type="radio" name="constitutional-destination" checked={destination === 'dataset'} onChange={() => (clear(), setDestination('dataset'))} /> as a dataset (original vs revised pairs)
              </label>
              <label className="check">
                <input type="radio" name="constitutional-destination" checked={destination === 'project'} onChange={() => (clear(), setDestination('project'))} /> as new items of a project
              </label>
            </fieldset>
            {destination === 'project' && (
              <div className="field">
                <label htmlFor={ids.target}>Target project</label>
                <select id={ids.target} name="target_project" value={target} onChange={(e) => (clear(), setTarget(e.target.value))} aria-invalid={fieldError('config.target_project') ? true : undefined}>
                  <option value="">Choose a project</option>
                  <option value={project.id}>{project.name} (this project)</option>
                  {targets.map((p) => (
                    <option key={p.id} value={p.id}>
                      {p.name}
                    </option>
                  ))}
                </select>
                {fieldError('config.target_project') && <span className="field-error">{fieldError('config.target_project')}</span>}
              </div>
            )}
          </div>
          <FieldErrors errors={errors.filter((e) => !e.field || !known.has(e.field))} />
          <div className="card-actions">
            <button type="button" className="btn btn-primary" onClick={launch} disabled={create.isPending || kind === null}>
              {create.isPending ? 'Launching…' : 'Launch constitutional job'}
            </button>
          </div>
        </>
      )}
    </div>
  )
}
