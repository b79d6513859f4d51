import { useCallback, useEffect, useMemo, useState, type ReactNode } from 'react'
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
import { Link, matchPath, navigate, useLocation } from './lib/router'
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

export function App() {
  const [auth, setAuth] = useState<AuthState>({ status: 'loading' })
  const refresh = useCallback(async () => setAuth(await fetchMe()), [])

  useEffect(() => {
    refresh()
  }, [refresh])

  // Retry the first contact while the server is unreachable.
  useEffect(() => {
    if (auth.status !== 'unreachable') return
    const timer = setTimeout(refresh, 3000)
    return () => clearTimeout(timer)
  }, [auth, refresh])

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
  }, [])

  const session = useMemo<Session | null>(
    () =>
      auth.status === 'in'
        ? {
            me: auth.me,
            refresh,
            logout: async () => {
              await api.post(apiPaths.logout()).catch(() => undefined)
              setAuth({ status: 'anonymous' })
              navigate('/', { replace: true })
              refresh()
            },
          }
        : null,
    [auth, refresh],
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
        <Link href="/" className="brand">
          RLHF Annotate
        </Link>
        <nav aria-label="Main">
          <NavLink href="/" pathname={pathname} exact>
            Projects
          </NavLink>
          {me.is_staff && (
            <>
              <NavLink href="/manage/users" pathname={pathname}>
                Users
              </NavLink>
              <NavLink href="/manage/projects/new" pathname={pathname}>
                New project
              </NavLink>
              <NavLink href="/training" pathname={pathname}>
                Training
              </NavLink>
              <NavLink href="/models" pathname={pathname}>
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
        <Routes pathname={pathname} />
      </main>
    </div>
  )
}

function NavLink({ href, pathname, exact, children }: { href: string; pathname: string; exact?: boolean; children: ReactNode }) {
  const active = exact ? pathname === href : pathname.startsWith(href)
  return (
    <Link href={href} className={active ? 'nav-link active' : 'nav-link'} aria-current={active ? 'page' : undefined}>
      {children}
    </Link>
  )
}

const ROUTES: [string, (p: Record<string, string>) => ReactNode][] = [
  ['/', () => <ProjectsPage />],
  ['/projects/:id/annotate', (p) => <AnnotatePage key={p.id} projectId={Number(p.id)} />],
  ['/projects/:id/mine', (p) => <MyAnswersPage key={p.id} projectId={Number(p.id)} />],
  ['/projects/:id', (p) => <DashboardPage key={p.id} projectId={Number(p.id)} />],
  ['/projects/:id/items', (p) => <ItemsPage key={p.id} projectId={Number(p.id)} />],
  ['/projects/:id/items/:itemId', (p) => <ItemDetailPage key={p.itemId} projectId={Number(p.id)} itemId={Number(p.itemId)} />],
  ['/projects/:id/curation', (p) => <CurationPage key={p.id} projectId={Number(p.id)} />],
  ['/projects/:id/snapshots', (p) => <SnapshotsPage key={p.id} projectId={Number(p.id)} />],
  ['/projects/:id/import', (p) => <ImportPage projectId={Number(p.id)} />],
  ['/projects/:id/models', (p) => <ProjectModelsPage key={p.id} projectId={Number(p.id)} />],
  ['/projects/:id/rounds', (p) => <RoundsPage key={p.id} projectId={Number(p.id)} />],
  ['/projects/:id/members', (p) => <MembersPage projectId={Number(p.id)} />],
  ['/projects/:id/settings', (p) => <ProjectFormPage key={p.id} projectId={Number(p.id)} />],
  ['/manage/users', () => <UsersPage />],
  ['/manage/projects/new', () => <ProjectFormPage key="new" />],
  ['/training', () => <JobsPage />],
  ['/training/new', () => <NewJobPage />],
  ['/training/:id', (p) => <JobPage key={p.id} jobId={Number(p.id)} />],
  ['/models', () => <ModelsPage />],
]

/** A project's screens other than the annotator's own are its leads'. */
const leadOnly = (pattern: string) => pattern.startsWith('/projects/:id') && !['/projects/:id/annotate', '/projects/:id/mine'].includes(pattern)

function Routes({ pathname }: { pathname: string }) {
  for (const [pattern, render] of ROUTES) {
    const params = matchPath(pattern, pathname)
    if (params && leadOnly(pattern)) return <LeadOnly projectId={Number(params.id)}>{render(params)}</LeadOnly>
    if (params) return <>{render(params)}</>
  }
  return (
    <div className="page">
      <h1>Not found</h1>
      <p>
        There is no page at <code>{pathname}</code>. <Link href="/">Back to your projects</Link>.
      </p>
    </div>
  )
}
