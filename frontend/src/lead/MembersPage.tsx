import { useState, type FormEvent } from 'react'
import { FieldErrors } from '../components/Banners'
import { api, rows } from '../lib/api'
import { errorText } from '../lib/errors'
import { useGet, useInvalidate } from '../lib/queries'
import type { Project, Role } from '../lib/types'
import { LeadFrame } from './ProjectHeader'
import { apiPaths } from '../lib/paths'
import { useWrite } from '../lib/useWrite'

interface Member {
  user: string | { username: string }
  role: Role
}

const username = (m: Member) => (typeof m.user === 'string' ? m.user : m.user.username)

export function MembersPage({ projectId }: { projectId: number }) {
  return <LeadFrame projectId={projectId}>{(project) => <Members project={project} />}</LeadFrame>
}

function Members({ project }: { project: Project }) {
  const path = apiPaths.members(project.id)
  const { data, error } = useGet<Member[] | { results: Member[] }>(path)
  const invalidate = useInvalidate()
  const reload = () => invalidate(path)
  const [user, setUser] = useState('')
  const [role, setRole] = useState<Role>('annotator')
  const { errors, run } = useWrite()

  async function add(event: FormEvent) {
    event.preventDefault()
    await run(async () => {
      await api.post(path, { user: user.trim(), role })
      setUser('')
      setRole('annotator') // a lead is the exception: never carry the choice over by accident
      reload()
    })
  }

  async function remove(name: string) {
    if (!window.confirm(`Remove ${name} from ${project.name}?`)) return
    await run(async () => {
      await api.delete(apiPaths.member(project.id, name))
      reload()
    })
  }

  return (
    <div className="card">
      <h2>Members</h2>
      <form className="inline-form" onSubmit={add}>
        <label className="field-inline">
          Username
          <input value={user} onChange={(e) => setUser(e.target.value)} required placeholder="username" />
        </label>
        <label className="field-inline">
          Role
          <select value={role} onChange={(e) => setRole(e.target.value as Role)}>
            <option value="annotator">Annotator</option>
            <option value="lead">Lead</option>
          </select>
        </label>
        <button type="submit" className="btn btn-primary">
          Add member
        </button>
      </form>
      <FieldErrors errors={errors} />
      {error != null && <p className="form-error">Could not load members: {errorText(error)}</p>}
      {data && (
        <table className="table" data-testid="members-table">
          <thead>
            <tr>
              <th>User</th>
              <th>Role</th>
              <th />
            </tr>
          </thead>
          <tbody>
            {rows(data).map((m) => (
              <tr key={username(m)}>
                <td>{username(m)}</td>
                <td>
                  <span className={`tag tag-role-${m.role}`}>{m.role}</span>
                </td>
                <td className="num">
                  <button type="button" className="btn btn-ghost btn-sm" onClick={() => remove(username(m))}>
                    Remove
                  </button>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </div>
  )
}
