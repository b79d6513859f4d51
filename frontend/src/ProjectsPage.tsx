import { isLead, useSession } from './lib/auth'
import { rows } from './lib/api'
import { errorText } from './lib/errors'
import { useGet } from './lib/queries'
import { Link } from 'react-router'
import type { Project, Role } from './lib/types'
import { ProgressBar } from './components/ui'
import { apiPaths } from './lib/paths'

const KIND_LABEL = { pairwise: 'Pairwise', ranking: 'Ranking', demonstration: 'Demonstration' } as const
const ROLE_LABEL: Record<Role, string> = { annotator: 'You are an annotator', lead: 'You are a lead', admin: 'You are an admin' }

export function ProjectsPage() {
  const { me } = useSession()
  const { data, error, isFetching } = useGet<Project[] | { results: Project[] }>(apiPaths.projects())
  const projects = rows(data)
  return (
    <div className="page">
      <div className="page-head">
        <h1>My projects</h1>
        {me.is_staff && (
          <Link to="/manage/projects/new" className="btn btn-primary">
            New project
          </Link>
        )}
      </div>
      {error != null && <p className="form-error">Could not load projects: {errorText(error)}</p>}
      {isFetching && !data && <p className="muted">Loading…</p>}
      {data && projects.length === 0 && (
        <div className="empty">You are not a member of any project yet. Ask a project lead to add you.</div>
      )}
      <div className="project-grid">
        {projects.map((p) => (
          <ProjectCard key={p.id} project={p} canLead={isLead(me, p.id) || p.role === 'lead'} />
        ))}
      </div>
    </div>
  )
}

function ProjectCard({ project, canLead }: { project: Project; canLead: boolean }) {
  const progress = project.my_progress
  const total = progress ? progress.done + progress.remaining : 0
  // Admins may annotate any project (the server hands them items like a member); the dashboard is for leads and admins.
  const annotates = project.role !== null
  return (
    <article className="card project-card" data-testid={`project-${project.id}`}>
      <div className="project-card-head">
        <h2>{project.name}</h2>
        <span className={`tag tag-${project.kind}`}>{KIND_LABEL[project.kind] ?? project.kind}</span>
      </div>
      <p className="muted small">
        <span data-testid="role">{project.role ? ROLE_LABEL[project.role] : 'Admin access'}</span> ·{' '}
        {project.annotations_per_item} {project.annotations_per_item === 1 ? 'answer' : 'answers'} per item
      </p>
      {progress && (
        <div className="project-progress">
          <ProgressBar value={progress.done} max={total} />
          <div className="small">
            <strong>{progress.done}</strong> done · <strong>{progress.remaining}</strong> remaining for you
            {progress.skipped > 0 && <> · {progress.skipped} skipped</>}
          </div>
        </div>
      )}
      <div className="card-actions">
        {annotates && (
          <Link to={`/projects/${project.id}/annotate`} className="btn btn-primary" aria-label={`Annotate ${project.name}`}>
            {progress && progress.remaining === 0 ? 'Open' : progress && progress.done > 0 ? 'Continue' : 'Start'}
          </Link>
        )}
        {progress && progress.done + progress.skipped > 0 && (
          <Link to={`/projects/${project.id}/mine`} className="btn">
            My answers
          </Link>
        )}
        {canLead && (
          <Link to={`/projects/${project.id}`} className="btn">
            Dashboard
          </Link>
        )}
      </div>
    </article>
  )
}
