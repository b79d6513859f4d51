import type { ReactNode } from 'react'
import { isLead, useSession } from '../lib/auth'
import { Link } from 'react-router'

/** A project's lead screens, for its leads and admins only: an annotator who follows a link there gets a way back
 *  to their work, not tabs and forms the server would refuse (it answers them 404). */
export function LeadOnly({ projectId, children }: { projectId: number; children: ReactNode }) {
  const { me } = useSession()
  if (isLead(me, projectId)) return <>{children}</>
  const member = me.projects.some((p) => p.id === projectId)
  return (
    <div className="page" data-testid="lead-only">
      <h1>For the project's leads</h1>
      <p>
        This part of the project is for its leads.{' '}
        {member ? (
          <Link to={`/projects/${projectId}/annotate`}>Back to annotating</Link>
        ) : (
          <Link to="/">Back to your projects</Link>
        )}
        .
      </p>
    </div>
  )
}
