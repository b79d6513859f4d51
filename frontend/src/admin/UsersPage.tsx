import { useState, type FormEvent } from 'react'
import { FieldErrors } from '../components/Banners'
import { api, rows, type FieldError } from '../lib/api'
import { useSession } from '../lib/auth'
import { errorText, pushNotice, toErrors, useFetch } from '../lib/hooks'

interface User {
  id: number
  username: string
  email?: string
  is_staff?: boolean
  date_joined?: string
}

export function UsersPage() {
  const { me } = useSession()
  const { data, error, reload } = useFetch<User[] | { results: User[] }>(me.is_staff ? '/api/users/' : null)
  const [form, setForm] = useState({ username: '', password: '', email: '', is_staff: false })
  const [errors, setErrors] = useState<FieldError[]>([])

  if (!me.is_staff) return <div className="page">Only admins manage users.</div>

  async function create(event: FormEvent) {
    event.preventDefault()
    setErrors([])
    const body: Record<string, unknown> = { username: form.username.trim(), password: form.password, is_staff: form.is_staff }
    if (form.email.trim()) body.email = form.email.trim()
    try {
      await api.post('/api/users/', body)
      pushNotice('ok', `User ${form.username} created.`)
      setForm({ username: '', password: '', email: '', is_staff: false })
      reload()
    } catch (err) {
      setErrors(toErrors(err))
    }
  }

  return (
    <div className="page">
      <h1>Users</h1>
      <div className="two-col">
        <div className="card">
          {error != null && <p className="form-error">Could not load users: {errorText(error)}</p>}
          {data && (
            <table className="table" data-testid="users-table">
              <thead>
                <tr>
                  <th>Username</th>
                  <th>Email</th>
                  <th>Admin</th>
                </tr>
              </thead>
              <tbody>
                {rows(data).map((u) => (
                  <tr key={u.id ?? u.username}>
                    <td>{u.username}</td>
                    <td>{u.email || <span className="muted">—</span>}</td>
                    <td>{u.is_staff ? 'yes' : ''}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          )}
        </div>
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
          <label className="field">
            <span>Email (optional)</span>
            <input type="email" value={form.email} onChange={(e) => setForm({ ...form, email: e.target.value })} />
          </label>
          <label className="check">
            <input type="checkbox" checked={form.is_staff} onChange={(e) => setForm({ ...form, is_staff: e.target.checked })} /> Admin
          </label>
          <FieldErrors errors={errors} />
          <button type="submit" className="btn btn-primary">
            Create user
          </button>
        </form>
      </div>
    </div>
  )
}
