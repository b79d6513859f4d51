import { useRef, useState, type FormEvent } from 'react'
import { FieldErrors } from '../components/Banners'
import { request, type FieldError } from '../lib/api'
import { toErrors } from '../lib/hooks'
import type { Project } from '../lib/types'
import { LeadFrame } from './ProjectHeader'

interface ImportResult {
  created: number
  skipped: number
  skipped_ids?: string[]
}

export function ImportPage({ projectId }: { projectId: number }) {
  return <LeadFrame projectId={projectId}>{(project) => <ImportForm project={project} />}</LeadFrame>
}

function ImportForm({ project }: { project: Project }) {
  const input = useRef<HTMLInputElement>(null)
  const [file, setFile] = useState<File | null>(null)
  const [busy, setBusy] = useState(false)
  const [result, setResult] = useState<ImportResult | null>(null)
  const [errors, setErrors] = useState<FieldError[]>([])

  async function upload(event: FormEvent) {
    event.preventDefault()
    if (!file) return
    const form = new FormData()
    form.append('file', file)
    setBusy(true)
    setResult(null)
    setErrors([])
    try {
      const response = await request<ImportResult>('POST', `/api/projects/${project.id}/import/`, { body: form })
      setResult(response.data)
      if (input.current) input.current.value = ''
      setFile(null)
    } catch (err) {
      setErrors(toErrors(err))
    } finally {
      setBusy(false)
    }
  }

  const lineErrors = errors.filter((e) => e.line != null)
  const otherErrors = errors.filter((e) => e.line == null)
  return (
    <div className="card">
      <h2>Import items</h2>
      <p className="muted small">
        Upload a JSONL file (one item per line) or a CSV. Each item has a conversation and, for {project.kind} projects,
        {project.kind === 'demonstration' ? ' optionally reference responses' : ' its responses'}. Items already imported (same id) are skipped.
      </p>
      <form className="import-form" onSubmit={upload}>
        <input ref={input} type="file" name="file" accept=".jsonl,.json,.csv,.ndjson,text/csv,application/json" onChange={(e) => setFile(e.target.files?.[0] ?? null)} />
        <button type="submit" className="btn btn-primary" disabled={!file || busy}>
          {busy ? 'Uploading…' : 'Upload'}
        </button>
      </form>
      {result && (
        <div className="banner banner-ok" role="status" data-testid="import-result">
          Imported <strong>{result.created}</strong> new items; skipped <strong>{result.skipped}</strong>
          {result.skipped_ids && result.skipped_ids.length > 0 && (
            <span className="muted small"> ({result.skipped_ids.slice(0, 20).join(', ')}{result.skipped_ids.length > 20 ? ', …' : ''})</span>
          )}
          .
        </div>
      )}
      <FieldErrors errors={otherErrors} />
      {lineErrors.length > 0 && (
        <div className="table-wrap">
          <p className="form-error">Nothing was imported: fix these lines and upload again.</p>
          <table className="table" data-testid="import-errors">
            <thead>
              <tr>
                <th className="num">Line</th>
                <th>Field</th>
                <th>Problem</th>
              </tr>
            </thead>
            <tbody>
              {lineErrors.map((e, i) => (
                <tr key={i}>
                  <td className="num">{e.line}</td>
                  <td>
                    <code>{e.field ?? '—'}</code>
                  </td>
                  <td>{e.message}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </div>
  )
}
