// Reads and writes of the closing-the-loop screens. These endpoints are newer than the rest of the
// training API: a server that does not have one yet answers 404, which the screens say plainly
// instead of failing (see `notDeployed`).
import { keepPreviousData, useMutation, useQuery, useQueryClient } from '@tanstack/react-query'
import { api, ApiError } from '../../lib/api'
import { useSession } from '../../lib/auth'
import { useScope } from '../../lib/queries'
import { retryTransient } from '../../lib/queryClient'
import type { Project } from '../../lib/types'
import { fetchAll, useModels } from '../queries'
import type { Constitution, ModelStrengths, Principle, ProjectLineage, RoundPreview } from './types'
import { apiPaths } from '../../lib/paths'

/**
 * A 404 from an endpoint of a project the page has already loaded: the server does not have that
 * endpoint yet (an unknown route answers 404 in the usual error shape), not a project out of reach.
 */
export function notDeployed(error: unknown): boolean {
  return error instanceof ApiError && error.status === 404
}

// Each read says `retry: retryTransient` itself (a 404 stays a 404: asking again would only delay the message),
// so it holds under a cache whose default differs, as the tests' does.

export function useModelStrengths(projectId: number) {
  const scope = useScope()
  return useQuery({
    queryKey: [scope, 'model-strengths', projectId],
    queryFn: () => api.get<ModelStrengths>(apiPaths.modelStrengths(projectId)),
    retry: retryTransient,
  })
}

export function useProjectLineage(projectId: number) {
  const scope = useScope()
  return useQuery({
    queryKey: [scope, 'project-lineage', projectId],
    queryFn: () => api.get<ProjectLineage>(apiPaths.lineage(projectId)),
    retry: retryTransient,
  })
}


export function useConstitutions(projectId: number) {
  const scope = useScope()
  return useQuery({
    queryKey: [scope, 'constitutions', projectId],
    queryFn: () => fetchAll<Constitution>(apiPaths.constitutions(projectId)),
    retry: retryTransient,
  })
}

export function useCreateConstitution(projectId: number) {
  const scope = useScope()
  const client = useQueryClient()
  return useMutation({
    mutationFn: (body: { name: string; principles: Principle[] }) => api.post<Constitution>(apiPaths.constitutions(projectId), body).then((r) => r.data),
    onSuccess: () => client.invalidateQueries({ queryKey: [scope, 'constitutions', projectId] }),
  })
}

/** What a generate job with this body would create; `null` asks nothing. The last answer stays on screen while the next is on its way. */
export function useRoundPreview(body: Record<string, unknown> | null) {
  const scope = useScope()
  return useQuery({
    queryKey: [scope, 'round-preview', body],
    queryFn: () => api.post<RoundPreview>(apiPaths.jobPreview(), body).then((r) => r.data),
    enabled: body !== null,
    placeholderData: keepPreviousData,
    retry: retryTransient,
    staleTime: 30_000,
  })
}

/** Every project this user sees: the destinations a constitutional job may write to. */
export function useProjects() {
  const scope = useScope()
  return useQuery({ queryKey: [scope, 'projects'], queryFn: () => fetchAll<Project>(apiPaths.projects()) })
}

/**
 * The models this user may pick from for a project: every model for an admin, the ones trained from
 * this project's snapshots for a lead (who may not list the others).
 */
export function useModelsFor(projectId: number) {
  const { me } = useSession()
  return useModels(me.is_staff ? apiPaths.models() : apiPaths.projectModels(projectId))
}
