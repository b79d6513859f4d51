// Registered and trained models with their lineage (job → snapshot → project), and the runs compared.
import { useEffect, useMemo } from 'react'
import { LeadFrame } from '../lead/ProjectHeader'
import { useSession } from '../lib/auth'
import { errorText } from '../lib/errors'
import { Link, useLocation, useNavigate, useSearchParams } from 'react-router'
import { CompareRuns } from './CompareRuns'
import { LineageSection } from './loop/LineageGraph'
import { ModelStrengthsSection } from './loop/ModelStrengths'
import { policyModels } from './loop/parts'
import { withParam } from './JobsPage'
import { JobsTable, ModelsTable } from './parts'
import { useJobs, useModels } from './queries'
import type { TrainedModel } from './types'
import { apiPaths, withQuery } from '../lib/paths'

const KINDS = ['base', 'policy', 'reward']
const TASKS = ['causal-lm', 'sequence-classification']

/** The model named by `?model=` scrolled into view once the list is there. */
function useScrollTo(models: TrainedModel[] | undefined, id: number | undefined) {
  useEffect(() => {
    if (!models || !id) return
    document.getElementById(`model-${id}`)?.scrollIntoView?.({ block: 'center' })
  }, [models, id])
}

export function ModelsPage() {
  const { pathname } = useLocation()
  const navigate = useNavigate()
  const [search] = useSearchParams()
  const kind = search.get('kind') ?? ''
  const task = search.get('task') ?? ''
  const highlight = Number(search.get('model')) || undefined
  const models = useModels(withQuery(apiPaths.models(), { kind, task }))
  const byId = useMemo(() => new Map((models.data ?? []).map((m) => [m.id, m])), [models.data])
  const set = (key: string, value: string) => navigate(withParam(pathname, search, key, value), { replace: true })
  useScrollTo(models.data, highlight)
  useEffect(() => {
    if (search.has('compare')) document.getElementById('compare')?.scrollIntoView?.()
    // Only on arrival from the jobs list's "Compare" link, not on every pick.
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [])

  return (
    <div className="page page-wide">
      <div className="page-head">
        <div>
          <h1>Models</h1>
          <p className="muted small">Models to train from, and those the training jobs produced, with the data they came from.</p>
        </div>
      </div>
      <div className="filters" role="search" aria-label="Filter models">
        <label className="field-inline">
          Kind
          <select value={kind} onChange={(e) => set('kind', e.target.value)}>
            <option value="">All kinds</option>
            {KINDS.map((k) => (
              <option key={k}>{k}</option>
            ))}
          </select>
        </label>
        <label className="field-inline">
          Task
          <select value={task} onChange={(e) => set('task', e.target.value)}>
            <option value="">All tasks</option>
            {TASKS.map((t) => (
              <option key={t}>{t}</option>
            ))}
          </select>
        </label>
        <p className="small muted filters-status" role="status">
          {models.data && `${models.data.length} ${models.data.length === 1 ? 'model' : 'models'}`}
        </p>
      </div>
      {models.error != null && <p className="form-error">Could not load the models: {errorText(models.error)}</p>}
      {models.isPending && <p className="muted">Loading…</p>}
      {models.data?.length === 0 && <div className="empty">No model matches.</div>}
      {models.data && models.data.length > 0 && <ModelsTable models={models.data} highlight={highlight} parents={byId} />}
      <CompareRuns />
    </div>
  )
}

/** A project's "Models" tab: what was trained from its snapshots, how the annotators rank their answers, the lineage, and the jobs. */
export function ProjectModelsPage({ projectId }: { projectId: number }) {
  return <LeadFrame projectId={projectId}>{() => <ProjectModels projectId={projectId} />}</LeadFrame>
}

/** A policy's answers can become the project's next round of items. */
function newRoundLink(projectId: number, model: TrainedModel) {
  if (policyModels([model]).length === 0) return null
  return <Link to={`/projects/${projectId}/rounds?model=${model.id}`}>New round from this model</Link>
}

function ProjectModels({ projectId }: { projectId: number }) {
  const { me } = useSession()
  const [search] = useSearchParams()
  const highlight = Number(search.get('model')) || undefined
  const models = useModels(apiPaths.projectModels(projectId))
  const jobs = useJobs({ project: projectId })
  useScrollTo(models.data, highlight)
  return (
    <>
      <section className="card" aria-labelledby="project-models" data-testid="project-models">
        <h2 id="project-models">Models trained from this project</h2>
        {models.error != null && <p className="form-error">Could not load the models: {errorText(models.error)}</p>}
        {models.isPending && <p className="muted">Loading…</p>}
        {models.data?.length === 0 && <p className="muted">No model has been trained from this project’s snapshots yet.</p>}
        {models.data && models.data.length > 0 && <ModelsTable models={models.data} highlight={highlight} actions={(m) => newRoundLink(projectId, m)} />}
      </section>
      <ModelStrengthsSection projectId={projectId} models={models.data ?? []} />
      <LineageSection projectId={projectId} />
      <section className="card" aria-labelledby="project-jobs" data-testid="project-jobs">
        <h2 id="project-jobs">Training jobs</h2>
        {jobs.error != null && <p className="form-error">Could not load the jobs: {errorText(jobs.error)}</p>}
        {jobs.data?.results.length === 0 && <p className="muted">No training job has used this project’s snapshots.</p>}
        {jobs.data && jobs.data.results.length > 0 && <JobsTable jobs={jobs.data.results} staff={me.is_staff} />}
        {jobs.data?.next && <p className="small muted">Showing the newest {jobs.data.results.length} of {jobs.data.count}.</p>}
      </section>
    </>
  )
}
