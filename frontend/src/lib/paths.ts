// Every API path the web app calls, built here and nowhere else. Each template is a key of the generated
// schema's `paths` (api-schema.d.ts, `npm run gen:api`), so an endpoint renamed or removed breaks the typecheck.
import type { components, paths } from './api-schema'

type Template = keyof paths
type Id = number | string

/** A response body as the OpenAPI schema declares it: `Schema<'Me'>`. */
export type Schema<Name extends keyof components['schemas']> = components['schemas'][Name]

function fill(template: Template, params: Record<string, Id> = {}): string {
  return template.replace(/\{(\w+)\}/g, (_, name: string) => encodeURIComponent(String(params[name])))
}

/** `path?query`, or the path alone when the query says nothing. */
export function withQuery(path: string, query?: URLSearchParams | Record<string, string | number | undefined>): string {
  const params = query instanceof URLSearchParams ? query : new URLSearchParams()
  if (query && !(query instanceof URLSearchParams)) {
    for (const [key, value] of Object.entries(query)) if (value !== undefined && value !== '') params.set(key, String(value))
  }
  const text = params.toString()
  return text ? `${path}?${text}` : path
}

export const apiPaths = {
  csrf: () => fill('/api/auth/csrf/'),
  login: () => fill('/api/auth/login/'),
  logout: () => fill('/api/auth/logout/'),
  me: () => fill('/api/auth/me/'),

  users: () => fill('/api/users/'),
  user: (id: Id) => fill('/api/users/{id}/', { id }),
  userAction: (id: Id, action: 'deactivate' | 'reactivate' | 'password') => fill(`/api/users/{id}/${action}/`, { id }),

  projects: () => fill('/api/projects/'),
  project: (id: Id) => fill('/api/projects/{id}/', { id }),
  next: (projectId: Id) => fill('/api/projects/{id}/next/', { id: projectId }),
  progress: (projectId: Id) => fill('/api/projects/{id}/progress/', { id: projectId }),
  agreement: (projectId: Id) => fill('/api/projects/{id}/agreement/', { id: projectId }),
  members: (projectId: Id) => fill('/api/projects/{id}/members/', { id: projectId }),
  member: (projectId: Id, username: string) => fill('/api/projects/{id}/members/{username}/', { id: projectId, username }),
  importItems: (projectId: Id, step: 'preview' | 'import') =>
    fill(step === 'preview' ? '/api/projects/{id}/import/preview/' : '/api/projects/{id}/import/', { id: projectId }),
  items: (projectId: Id) => fill('/api/projects/{id}/items/', { id: projectId }),
  item: (projectId: Id, itemId: Id) => fill('/api/projects/{id}/items/{item_id}/', { id: projectId, item_id: itemId }),
  adjudication: (projectId: Id, itemId: Id) =>
    fill('/api/projects/{id}/items/{item_id}/adjudication/', { id: projectId, item_id: itemId }),
  gold: (projectId: Id, itemId: Id) => fill('/api/projects/{id}/items/{item_id}/gold/', { id: projectId, item_id: itemId }),
  curation: (projectId: Id) => fill('/api/projects/{id}/curation/', { id: projectId }),
  curationPreview: (projectId: Id) => fill('/api/projects/{id}/curation/preview/', { id: projectId }),
  snapshots: (projectId: Id) => fill('/api/projects/{id}/snapshots/', { id: projectId }),
  snapshot: (id: Id) => fill('/api/snapshots/{id}/', { id }),
  constitutions: (projectId: Id) => fill('/api/projects/{id}/constitutions/', { id: projectId }),
  lineage: (projectId: Id) => fill('/api/projects/{id}/lineage/', { id: projectId }),
  modelStrengths: (projectId: Id) => fill('/api/projects/{id}/model-strengths/', { id: projectId }),
  projectModels: (projectId: Id) => fill('/api/projects/{id}/models/', { id: projectId }),

  assignmentAction: (id: Id, action: 'submit' | 'skip' | 'unskip') => fill(`/api/assignments/{id}/${action}/`, { id }),
  myAnswers: () => fill('/api/me/annotations/'),
  myAnswer: (id: Id) => fill('/api/me/annotations/{id}/', { id }),
  mySkipped: () => fill('/api/me/skipped/'),

  models: () => fill('/api/models/'),
  jobs: () => fill('/api/training-jobs/'),
  job: (id: Id) => fill('/api/training-jobs/{id}/', { id }),
  jobAction: (id: Id, action: 'cancel' | 'retry') => fill(`/api/training-jobs/{id}/${action}/`, { id }),
  jobLog: (id: Id) => fill('/api/training-jobs/{id}/log/', { id }),
  jobMetrics: (id: Id) => fill('/api/training-jobs/{id}/metrics/', { id }),
  jobKinds: () => fill('/api/training-jobs/kinds/'),
  jobPreview: () => fill('/api/training-jobs/preview/'),
}
