import { useState, type FormEvent } from 'react'
import { FieldErrors } from '../components/Banners'
import { Markdown } from '../components/Markdown'
import { api } from '../lib/api'
import { useSession } from '../lib/auth'
import { pushNotice } from '../lib/notices'
import { useInvalidate } from '../lib/queries'
import { useNavigate } from 'react-router'
import type { Kind, Project } from '../lib/types'
import { LeadFrame } from '../lead/ProjectHeader'
import { apiPaths } from '../lib/paths'
import { useWrite } from '../lib/useWrite'

interface FormState {
  name: string
  kind: Kind
  guidelines: string
  annotations_per_item: string
  ranking_size: string
  allow_tie: boolean
  criteria: string
  gold_ratio: string
  lease_seconds: string
  min_demonstration_chars: string
  gold_feedback: boolean
}

const EMPTY: FormState = {
  name: '',
  kind: 'pairwise',
  guidelines: '',
  annotations_per_item: '3',
  ranking_size: '4',
  allow_tie: true,
  criteria: '',
  gold_ratio: '0',
  lease_seconds: '1800',
  min_demonstration_chars: '0',
  gold_feedback: false,
}

function fromProject(p: Project): FormState {
  return {
    name: p.name,
    kind: p.kind,
    guidelines: p.guidelines ?? '',
    annotations_per_item: String(p.annotations_per_item),
    ranking_size: String(p.ranking_size ?? 4),
    allow_tie: p.allow_tie,
    criteria: (p.criteria ?? []).join(', '),
    gold_ratio: String(p.gold_ratio ?? 0),
    lease_seconds: String(p.lease_seconds ?? 1800),
    min_demonstration_chars: String(p.min_demonstration_chars ?? 0),
    gold_feedback: p.gold_feedback ?? false,
  }
}

function toBody(f: FormState, creating: boolean): Record<string, unknown> {
  const body: Record<string, unknown> = {
    name: f.name.trim(),
    guidelines: f.guidelines,
    annotations_per_item: Number(f.annotations_per_item),
    allow_tie: f.allow_tie,
    criteria: f.criteria.split(',').map((c) => c.trim()).filter(Boolean),
    gold_ratio: Number(f.gold_ratio),
    lease_seconds: Number(f.lease_seconds),
    gold_feedback: f.gold_feedback,
  }
  if (f.kind === 'demonstration') body.min_demonstration_chars = Number(f.min_demonstration_chars)
  if (creating) body.kind = f.kind // the kind of an existing project is fixed: its answers depend on it
  if (f.kind === 'ranking') body.ranking_size = Number(f.ranking_size)
  return body
}

/** Create a project (admins) or edit one (admins and the project's leads). */
export function ProjectFormPage({ projectId }: { projectId?: number }) {
  const { me } = useSession()
  if (projectId === undefined) {
    if (!me.is_staff) return <div className="page">Only admins create projects.</div>
    return (
      <div className="page">
        <h1>New project</h1>
        <ProjectForm />
      </div>
    )
  }
  return <LeadFrame projectId={projectId} fresh>{(project) => <ProjectForm project={project} />}</LeadFrame>
}

function ProjectForm({ project }: { project?: Project }) {
  const navigate = useNavigate()
  const invalidate = useInvalidate()
  const [form, setForm] = useState<FormState>(project ? fromProject(project) : EMPTY)
  const { errors, busy, run } = useWrite()
  const set = <K extends keyof FormState>(key: K, value: FormState[K]) => setForm((f) => ({ ...f, [key]: value }))

  async function save(event: FormEvent) {
    event.preventDefault()
    await run(async () => {
      if (project) {
        await api.patch(apiPaths.project(project.id), toBody(form, false))
        pushNotice('ok', 'Project saved.')
        invalidate(apiPaths.projects()) // the lists and this project's header
      } else {
        const { data } = await api.post<Project>(apiPaths.projects(), toBody(form, true))
        pushNotice('ok', `Project ${data.name} created. Add members and import items next.`)
        invalidate(apiPaths.projects())
        navigate(`/projects/${data.id}/members`)
      }
    })
  }

  return (
    <form className="card form project-form" onSubmit={save}>
      <div className="form-grid">
        <label className="field span-2">
          <span>Name</span>
          <input required value={form.name} onChange={(e) => set('name', e.target.value)} />
        </label>
        <label className="field">
          <span>Kind</span>
          <select value={form.kind} disabled={!!project} onChange={(e) => set('kind', e.target.value as Kind)}>
            <option value="pairwise">Pairwise comparison</option>
            <option value="ranking">Ranking</option>
            <option value="demonstration">Demonstration</option>
          </select>
        </label>
        <label className="field">
          <span>Answers per item</span>
          <input type="number" min={1} max={50} required value={form.annotations_per_item} onChange={(e) => set('annotations_per_item', e.target.value)} />
        </label>
        {form.kind === 'ranking' && (
          <label className="field">
            <span>Responses per ranking</span>
            <input type="number" min={2} max={9} value={form.ranking_size} onChange={(e) => set('ranking_size', e.target.value)} />
          </label>
        )}
        <label className="field">
          <span>Gold ratio (0–1)</span>
          <input type="number" min={0} max={1} step={0.01} value={form.gold_ratio} onChange={(e) => set('gold_ratio', e.target.value)} />
        </label>
        <label className="field">
          <span>Lease (seconds)</span>
          <input type="number" min={30} value={form.lease_seconds} onChange={(e) => set('lease_seconds', e.target.value)} />
        </label>
        {form.kind === 'demonstration' && (
          <label className="field">
            <span>Minimum demonstration length (characters, 0 for none)</span>
            <input type="number" min={0} max={100000} value={form.min_demonstration_chars} onChange={(e) => set('min_demonstration_chars', e.target.value)} />
          </label>
        )}
        {form.kind !== 'demonstration' && (
          <label className="check span-2">
            <input type="checkbox" checked={form.gold_feedback} onChange={(e) => set('gold_feedback', e.target.checked)} /> Tell annotators, after they answer a
            gold item, whether they matched it
          </label>
        )}
        {form.kind === 'pairwise' && (
          <>
            <label className="field span-2">
              <span>Criteria (comma separated, optional)</span>
              <input value={form.criteria} onChange={(e) => set('criteria', e.target.value)} placeholder="helpfulness, honesty, harmlessness" />
            </label>
            <label className="check">
              <input type="checkbox" checked={form.allow_tie} onChange={(e) => set('allow_tie', e.target.checked)} /> Allow ties
            </label>
          </>
        )}
      </div>
      <div className="editor">
        <label className="editor-pane">
          <span className="pane-title">Guidelines (markdown)</span>
          <textarea value={form.guidelines} onChange={(e) => set('guidelines', e.target.value)} rows={10} />
        </label>
        <div className="editor-pane">
          <span className="pane-title">Preview</span>
          <div className="preview">{form.guidelines.trim() ? <Markdown>{form.guidelines}</Markdown> : <p className="muted">Nothing yet.</p>}</div>
        </div>
      </div>
      <FieldErrors errors={errors} />
      <div className="card-actions">
        <button type="submit" className="btn btn-primary" disabled={busy}>
          {project ? 'Save changes' : 'Create project'}
        </button>
      </div>
    </form>
  )
}
