import { useQuery, useQueryClient } from '@tanstack/react-query'
import { useCallback, useEffect, useMemo, type ReactNode } from 'react'
import { Link, NavLink, Route, Routes, useLocation, useNavigate, useParams } from 'react-router'
import { ProjectFormPage } from './admin/ProjectFormPage'
import { UsersPage } from './admin/UsersPage'
import { answerQueue } from './annotate/queue'
import { AnnotatePage } from './annotate/AnnotatePage'
import { MyAnswersPage } from './annotate/MyAnswersPage'
import { NetworkBanner, Notices } from './components/Banners'
import { LeadOnly } from './components/LeadOnly'
import { LoginPage } from './components/LoginPage'
import { CurationPage } from './lead/CurationPage'
import { DashboardPage } from './lead/DashboardPage'
import { ImportPage } from './lead/ImportPage'
import { ItemDetailPage } from './lead/ItemDetailPage'
import { ItemsPage } from './lead/ItemsPage'
import { MembersPage } from './lead/MembersPage'
import { SnapshotsPage } from './lead/SnapshotsPage'
import { ProjectsPage } from './ProjectsPage'
import { JobPage } from './training/JobPage'
import { JobsPage } from './training/JobsPage'
import { ModelsPage, ProjectModelsPage } from './training/ModelsPage'
import { NewJobPage } from './training/NewJobPage'
import { RoundsPage } from './training/loop/RoundsPage'
import { api, ApiError } from './lib/api'
import { SessionContext, type Session } from './lib/auth'
import type { Me } from './lib/types'
import { apiPaths } from './lib/paths'

type AuthState = { status: 'loading' } | { status: 'anonymous' } | { status: 'in'; me: Me } | { status: 'unreachable'; message: string }

async function fetchMe(): Promise<AuthState> {
  try {
    await api.get(apiPaths.csrf())
    return { status: 'in', me: await api.get<Me>(apiPaths.me()) }
  } catch (err) {
    if (err instanceof ApiError && (err.status === 401 || err.status === 403)) return { status: 'anonymous' }
    return { status: 'unreachable', message: err instanceof Error ? err.message : String(err) }
  }
}

const SESSION_KEY = ['session']

/** Who is signed in. It changes by what this app does (sign in, sign out, a refused request), so it is asked
 *  again only then, and every 3 s while the server cannot be reached. */
function useAuth(): { auth: AuthState; refresh: () => Promise<void>; setAuth: (auth: AuthState) => void } {
  const client = useQueryClient()
  const { data = { status: 'loading' }, refetch } = useQuery({
    queryKey: SESSION_KEY,
    queryFn: fetchMe, // never fails: an unreachable server is a state of its own
    staleTime: Infinity,
    refetchInterval: (query) => (query.state.data?.status === 'unreachable' ? 3000 : false),
  })
  const refresh = useCallback(async () => {
    await refetch()
  }, [refetch])
  const setAuth = useCallback((auth: AuthState) => client.setQueryData(SESSION_KEY, auth), [client])
  return { auth: data, refresh, setAuth }
}

export function App() {
  const { auth, refresh, setAuth } = useAuth()
  const client = useQueryClient()
  const navigate = useNavigate()

  useEffect(() => {
    if (auth.status === 'in') answerQueue.start(auth.me.username)
  }, [auth])

  // The queue stops on a 401/403; find out whether the session ended or the answer is simply not allowed.
  // Once per stop: the queue reports every state change, and the check is two requests.
  useEffect(() => {
    let wasBlocked = false
    return answerQueue.subscribe(async (state) => {
      const stopped = state.blockedOnAuth && !wasBlocked
      wasBlocked = state.blockedOnAuth
      if (!stopped) return
      const now = await fetchMe()
      if (now.status === 'in') {
        answerQueue.dropHead({ status: 'rejected', errors: [{ message: state.lastError ?? 'Not allowed' }], httpStatus: 403 })
      } else {
        setAuth(now)
      }
    })
  }, [setAuth])

  const session = useMemo<Session | null>(
    () =>
      auth.status === 'in'
        ? {
            me: auth.me,
            refresh,
            logout: async () => {
              await api.post(apiPaths.logout()).catch(() => undefined)
              client.removeQueries({ queryKey: [auth.me.id] }) // what this user read goes with them
              setAuth({ status: 'anonymous' })
              navigate('/', { replace: true })
              refresh()
            },
          }
        : null,
    [auth, refresh, setAuth, client, navigate],
  )

  if (auth.status === 'loading') return <div className="splash">Loading…</div>
  if (auth.status === 'unreachable') {
    return <div className="splash">Cannot reach the server ({auth.message}). Retrying…</div>
  }
  if (auth.status === 'anonymous' || !session) return <LoginPage onLoggedIn={refresh} />
  return (
    <SessionContext.Provider value={session}>
      <Shell session={session} />
    </SessionContext.Provider>
  )
}

function Shell({ session }: { session: Session }) {
  const { pathname } = useLocation()
  const me = session.me
  const focusMode = pathname.endsWith('/annotate')
  return (
    <div className={focusMode ? 'app app-focus' : 'app'}>
      <a className="skip-link" href="#main">
        Skip to content
      </a>
      <header className="topbar">
        <Link to="/" className="brand">
          RLHF Annotate
        </Link>
        <nav aria-label="Main">
          <NavLink to="/" className={navClass} end>
            Projects
          </NavLink>
          {me.is_staff && (
            <>
              <NavLink to="/manage/users" className={navClass}>
                Users
              </NavLink>
              <NavLink to="/manage/projects/new" className={navClass}>
                New project
              </NavLink>
              <NavLink to="/training" className={navClass}>
                Training
              </NavLink>
              <NavLink to="/models" className={navClass}>
                Models
              </NavLink>
            </>
          )}
        </nav>
        <div className="topbar-user">
          <span className="muted">
            {me.username}
            {me.is_staff ? ' · admin' : ''}
          </span>
          <button type="button" className="btn btn-ghost btn-sm" onClick={session.logout}>
            Log out
          </button>
        </div>
      </header>
      <NetworkBanner />
      <Notices />
      <main id="main" tabIndex={-1}>
        <Screens />
      </main>
    </div>
  )
}

const navClass = ({ isActive }: { isActive: boolean }) => (isActive ? 'nav-link active' : 'nav-link')

/** A route's screen, given the route's ids as numbers. */
type Render = (ids: { id: number; itemId: number }) => ReactNode

const SCREENS: [string, Render][] = [
  ['/', () => <ProjectsPage />],
  ['/projects/:id/annotate', ({ id }) => <AnnotatePage key={id} projectId={id} />],
  ['/projects/:id/mine', ({ id }) => <MyAnswersPage key={id} projectId={id} />],
  ['/projects/:id', ({ id }) => <DashboardPage key={id} projectId={id} />],
  ['/projects/:id/items', ({ id }) => <ItemsPage key={id} projectId={id} />],
  ['/projects/:id/items/:itemId', ({ id, itemId }) => <ItemDetailPage key={itemId} projectId={id} itemId={itemId} />],
  ['/projects/:id/curation', ({ id }) => <CurationPage key={id} projectId={id} />],
  ['/projects/:id/snapshots', ({ id }) => <SnapshotsPage key={id} projectId={id} />],
  ['/projects/:id/import', ({ id }) => <ImportPage projectId={id} />],
  ['/projects/:id/models', ({ id }) => <ProjectModelsPage key={id} projectId={id} />],
  ['/projects/:id/rounds', ({ id }) => <RoundsPage key={id} projectId={id} />],
  ['/projects/:id/members', ({ id }) => <MembersPage projectId={id} />],
  ['/projects/:id/settings', ({ id }) => <ProjectFormPage key={id} projectId={id} />],
  ['/manage/users', () => <UsersPage />],
  ['/manage/projects/new', () => <ProjectFormPage key="new" />],
  ['/training', () => <JobsPage />],
  ['/training/new', () => <NewJobPage />],
  ['/training/:id', ({ id }) => <JobPage key={id} jobId={id} />],
  ['/models', () => <ModelsPage />],
]

/** A project's screens other than the annotator's own are its leads'. */
const leadOnly = (pattern: string) => pattern.startsWith('/projects/:id') && !['/projects/:id/annotate', '/projects/:id/mine'].includes(pattern)

function Screens() {
  return (
    <Routes>
      {SCREENS.map(([pattern, render]) => (
        <Route key={pattern} path={pattern} caseSensitive element={<Screen render={render} lead={leadOnly(pattern)} />} />
      ))}
      <Route path="*" element={<NotFound />} />
    </Routes>
  )
}

function Screen({ render, lead }: { render: Render; lead: boolean }) {
  const params = useParams()
  const ids = { id: Number(params.id), itemId: Number(params.itemId) }
  return lead ? <LeadOnly projectId={ids.id}>{render(ids)}</LeadOnly> : <>{render(ids)}</>
}

function NotFound() {
  const { pathname } = useLocation()
  return (
    <div className="page">
      <h1>Not found</h1>
      <p>
        There is no page at <code>{pathname}</code>. <Link to="/">Back to your projects</Link>.
      </p>
    </div>
  )
}
