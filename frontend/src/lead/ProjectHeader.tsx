import type { ReactNode } from 'react'
import { Tabs, type Tab } from '../components/ui'
import { useSession } from '../lib/auth'
import { errorText } from '../lib/errors'
import { useProject } from '../lib/queries'
import { useLocation } from 'react-router'
import type { Project } from '../lib/types'

/** Loads the project and frames a lead screen with the project's tabs; `fresh` for a screen that starts a form from it. */
export function LeadFrame({ projectId, fresh = false, children }: { projectId: number; fresh?: boolean; children: (project: Project) => ReactNode }) {
  const { me } = useSession()
  const { pathname } = useLocation()
  const { data: project, error } = useProject(projectId, { fresh })
  if (error) return <div className="page form-error">Could not load the project: {errorText(error)}</div>
  if (!project) return <div className="page muted">Loading…</div>
  const base = `/projects/${project.id}`
  const tabs: Tab[] = [
    { href: base, label: 'Overview' },
    { href: `${base}/items`, label: 'Items' },
    { href: `${base}/curation`, label: 'Curation' },
    { href: `${base}/snapshots`, label: 'Snapshots' },
    { href: `${base}/models`, label: 'Models' },
    { href: `${base}/rounds`, label: 'Rounds' },
    { href: `${base}/import`, label: 'Import' },
    { href: `${base}/members`, label: 'Members' },
    { href: `${base}/settings`, label: 'Settings' },
  ]
  // Admins may annotate any project, as their project cards offer.
  if (project.role === 'annotator' || project.role === 'lead' || me.is_staff) tabs.push({ href: `${base}/annotate`, label: 'Annotate →', end: true })
  const current = tabs.map((t) => t.href).filter((href) => pathname === href || (href !== base && pathname.startsWith(href))).pop() ?? base
  return (
    <div className="page page-wide">
      <div className="page-head">
        <div>
          <h1>{project.name}</h1>
          <p className="muted small">
            {project.kind} · {project.annotations_per_item} {project.annotations_per_item === 1 ? 'answer' : 'answers'} per item
            {project.kind === 'ranking' && project.ranking_size ? ` · ${project.ranking_size} responses` : ''}
            {project.criteria?.length ? ` · criteria: ${project.criteria.join(', ')}` : ''}
            {me.is_staff && project.role !== 'lead' ? ' · admin view' : ''}
          </p>
        </div>
      </div>
      <Tabs tabs={tabs} current={current} />
      {children(project)}
    </div>
  )
}
