import { useState, type FormEvent } from 'react'
import { FieldErrors } from '../components/Banners'
import { api, rows } from '../lib/api'
import { useSession } from '../lib/auth'
import { errorText } from '../lib/errors'
import { pushNotice } from '../lib/notices'
import { useGet, useInvalidate } from '../lib/queries'
import { Link } from 'react-router'
import { apiPaths } from '../lib/paths'
import { useWrite } from '../lib/useWrite'

interface User {
  id: number
  username: string
  first_name?: string
  last_name?: string
  email?: string
  is_staff?: boolean
  is_active?: boolean
  date_joined?: string
  last_login?: string | null
}

interface UserDetail extends User {
  memberships: { project: number; project_name: string; role: string }[]
}

function fullName(u: User): string {
  return [u.first_name, u.last_name].filter(Boolean).join(' ')
}

export function UsersPage() {
  const { me } = useSession()
  const { data, error } = useGet<User[] | { results: User[] }>(me.is_staff ? apiPaths.users() : null)
  const invalidate = useInvalidate()
  const reload = () => invalidate(apiPaths.users()) // the list and every user's own read
  const [selected, setSelected] = useState<number | null>(null)

  if (!me.is_staff) return <div className="page">Only admins manage users.</div>

  return (
    <div className="page">
      <h1>Users</h1>
      <div className="two-col">
        <div className="card">
          {error != null && <p className="form-error">Could not load users: {errorText(error)}</p>}
          {data && (
            <table className="table table-hover" data-testid="users-table">
              <thead>
                <tr>
                  <th>Username</th>
                  <th>Name</th>
                  <th>Email</th>
                  <th>Admin</th>
                  <th>Status</th>
                  <th>
                    <span className="sr-only">Actions</span>
                  </th>
                </tr>
              </thead>
              <tbody>
                {rows(data).map((u) => (
                  <tr key={u.id} data-user={u.username} aria-selected={selected === u.id}>
                    <td>{u.username}</td>
                    <td>{fullName(u) || <span className="muted">—</span>}</td>
                    <td>{u.email || <span className="muted">—</span>}</td>
                    <td>{u.is_staff ? 'yes' : ''}</td>
                    <td>{u.is_active === false ? <span className="muted">deactivated</span> : 'active'}</td>
                    <td>
                      <button type="button" className="btn btn-sm" onClick={() => setSelected(u.id)} aria-label={`Manage ${u.username}`}>
                        Manage
                      </button>
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          )}
        </div>
        {selected === null ? (
          <NewUserForm onCreated={reload} />
        ) : (
          <UserPanel key={selected} userId={selected} isMe={selected === me.id} onChanged={reload} onClose={() => setSelected(null)} />
        )}
      </div>
    </div>
  )
}

function NewUserForm({ onCreated }: { onCreated: () => void }) {
  const [form, setForm] = useState({ username: '', password: '', email: '', is_staff: false })
  const { errors, run } = useWrite()

  async function create(event: FormEvent) {
    event.preventDefault()
    const body: Record<string, unknown> = { username: form.username.trim(), password: form.password, is_staff: form.is_staff }
    if (form.email.trim()) body.email = form.email.trim()
    await run(async () => {
      await api.post(apiPaths.users(), body)
      pushNotice('ok', `User ${form.username} created.`)
      setForm({ username: '', password: '', email: '', is_staff: false })
      onCreated()
    })
  }

  return (
    <form className="card form" onSubmit={create} aria-labelledby="new-user">
      <h2 id="new-user">New user</h2>
      <label className="field">
        <span>Username</span>
        <input required value={form.username} onChange={(e) => setForm({ ...form, username: e.target.value })} autoComplete="off" />
      </label>
      <label className="field">
        <span>Password</span>
        <input required type="password" value={form.password} onChange={(e) => setForm({ ...form, password: e.target.value })} autoComplete="new-password" />
      </label>
      <EmailAndAdmin label="Email (optional)" form={form} onChange={(change) => setForm({ ...form, ...change })} />
      <FieldErrors errors={errors} />
      <button type="submit" className="btn btn-primary">
        Create user
      </button>
    </form>
  )
}

function EmailAndAdmin({ label, form, onChange }: { label: string; form: { email: string; is_staff: boolean }; onChange: (change: { email?: string; is_staff?: boolean }) => void }) {
  return (
    <>
      <label className="field">
        <span>{label}</span>
        <input type="email" value={form.email} onChange={(e) => onChange({ email: e.target.value })} />
      </label>
      <label className="check">
        <input type="checkbox" checked={form.is_staff} onChange={(e) => onChange({ is_staff: e.target.checked })} /> Admin
      </label>
    </>
  )
}

/** One user: edit, deactivate or reactivate, reset the password, and the projects they belong to. */
function UserPanel({ userId, isMe, onChanged, onClose }: { userId: number; isMe: boolean; onChanged: () => void; onClose: () => void }) {
  const { data: user, error } = useGet<UserDetail>(apiPaths.user(userId))
  return (
    <section className="card" aria-labelledby="user-panel" data-testid="user-panel">
      <div className="row-between">
        <h2 id="user-panel">{user ? user.username : 'User'}</h2>
        <button type="button" className="btn btn-sm" onClick={onClose}>
          New user
        </button>
      </div>
      {error != null && <p className="form-error">Could not load this user: {errorText(error)}</p>}
      {user && (
        <>
          <EditForm key={`${user.id}-${user.email}-${user.first_name}-${user.last_name}-${user.is_staff}`} user={user} onSaved={onChanged} />
          <ActiveToggle user={user} isMe={isMe} onChanged={onChanged} />
          <PasswordReset user={user} />
          <h3>Projects</h3>
          {user.memberships.length === 0 ? (
            <p className="muted">Not a member of any project.</p>
          ) : (
            <ul data-testid="user-memberships">
              {user.memberships.map((m) => (
                <li key={m.project}>
                  <Link to={`/projects/${m.project}`}>{m.project_name}</Link> <span className="muted">({m.role})</span>
                </li>
              ))}
            </ul>
          )}
        </>
      )}
    </section>
  )
}

function EditForm({ user, onSaved }: { user: UserDetail; onSaved: () => void }) {
  const [form, setForm] = useState({ first_name: user.first_name ?? '', last_name: user.last_name ?? '', email: user.email ?? '', is_staff: !!user.is_staff })
  const { errors, run } = useWrite()

  async function save(event: FormEvent) {
    event.preventDefault()
    await run(async () => {
      await api.patch(apiPaths.user(user.id), { ...form, email: form.email.trim() })
      pushNotice('ok', `Saved ${user.username}.`)
      onSaved()
    })
  }

  return (
    <form className="form" onSubmit={save} aria-label="Edit user">
      <label className="field">
        <span>First name</span>
        <input value={form.first_name} onChange={(e) => setForm({ ...form, first_name: e.target.value })} />
      </label>
      <label className="field">
        <span>Last name</span>
        <input value={form.last_name} onChange={(e) => setForm({ ...form, last_name: e.target.value })} />
      </label>
      <EmailAndAdmin label="Email" form={form} onChange={(change) => setForm({ ...form, ...change })} />
      <FieldErrors errors={errors} />
      <button type="submit" className="btn btn-primary">
        Save
      </button>
    </form>
  )
}

function ActiveToggle({ user, isMe, onChanged }: { user: UserDetail; isMe: boolean; onChanged: () => void }) {
  const { errors, run } = useWrite()
  const active = user.is_active !== false

  const toggle = () =>
    run(async () => {
      await api.post(apiPaths.userAction(user.id, active ? 'deactivate' : 'reactivate'))
      pushNotice('ok', `${user.username} ${active ? 'deactivated: they can no longer sign in' : 'can sign in again'}.`)
      onChanged()
    })

  return (
    <div className="form">
      <h3>Access</h3>
      <p>{active ? 'Active: can sign in.' : 'Deactivated: cannot sign in.'}</p>
      {active && isMe ? (
        <p className="muted">You cannot deactivate yourself; another admin can.</p>
      ) : (
        <button type="button" className="btn" onClick={toggle}>
          {active ? 'Deactivate' : 'Reactivate'}
        </button>
      )}
      <FieldErrors errors={errors} />
    </div>
  )
}

function PasswordReset({ user }: { user: UserDetail }) {
  const [password, setPassword] = useState('')
  const [generated, setGenerated] = useState<string | null>(null)
  const { errors, run } = useWrite()

  async function reset(body: { password: string } | { generate: true }) {
    setGenerated(null)
    await run(async () => {
      const { data } = await api.post<{ password: string | null }>(apiPaths.userAction(user.id, 'password'), body)
      setPassword('')
      if (data.password) setGenerated(data.password)
      else pushNotice('ok', `New password set for ${user.username}.`)
    })
  }

  return (
    <form
      className="form"
      aria-label="Reset password"
      onSubmit={(e) => {
        e.preventDefault()
        void reset({ password })
      }}
    >
      <h3>Password</h3>
      <label className="field">
        <span>New password</span>
        <input type="password" required value={password} onChange={(e) => setPassword(e.target.value)} autoComplete="new-password" />
      </label>
      <div className="inline-form">
        <button type="submit" className="btn">
          Set password
        </button>
        <button type="button" className="btn" onClick={() => void reset({ generate: true })}>
          Generate a one-time password
        </button>
      </div>
      {generated && (
        <p role="status" data-testid="generated-password">
          One-time password for {user.username}: <code>{generated}</code>. It is shown only this once: pass it on to them now.
        </p>
      )}
      <FieldErrors errors={errors} />
    </form>
  )
}
