import { useRef, useState, type FormEvent } from 'react'
import { FieldErrors } from '../components/Banners'
import { request } from '../lib/api'
import { useWrite } from '../lib/useWrite'
import type { Project } from '../lib/types'
import { previewSummary, promptOf, sourceFile, type ImportPreview } from './importSource'
import { LeadFrame } from './ProjectHeader'
import { apiPaths } from '../lib/paths'

interface ImportResult {
  created: number
  skipped: number
  skipped_ids?: string[]
}

export function ImportPage({ projectId }: { projectId: number }) {
  return <LeadFrame projectId={projectId}>{(project) => <ImportForm project={project} />}</LeadFrame>
}

export function ImportForm({ project }: { project: Project }) {
  const input = useRef<HTMLInputElement>(null)
  const [file, setFile] = useState<File | null>(null)
  const [pasted, setPasted] = useState('')
  const [busy, setBusy] = useState<'preview' | 'import' | null>(null)
  const [preview, setPreview] = useState<ImportPreview | null>(null)
  const [result, setResult] = useState<ImportResult | null>(null)
  const { errors, setErrors, run } = useWrite()
  const source = sourceFile(file, pasted)

  function changed() {
    setPreview(null)
    setResult(null)
    setErrors([])
  }

  function chooseFile(chosen: File | null) {
    setFile(chosen)
    if (chosen) setPasted('')
    changed()
  }

  function paste(text: string) {
    setPasted(text)
    setFile(null)
    if (input.current) input.current.value = ''
    changed()
  }

  async function send<T>(step: 'preview' | 'import'): Promise<T | null> {
    if (!source) return null
    const form = new FormData()
    form.append('file', source)
    setBusy(step)
    const answer = await run(async () => (await request<T>('POST', apiPaths.importItems(project.id, step), { body: form })).data)
    setBusy(null)
    return answer ?? null
  }

  async function check(event: FormEvent) {
    event.preventDefault()
    setResult(null)
    const answer = await send<ImportPreview>('preview')
    setPreview(answer)
    if (answer) setErrors(answer.errors.map((e) => ({ ...e, line: e.line ?? undefined })))
  }

  async function write() {
    const answer = await send<ImportResult>('import')
    if (!answer) return
    setResult(answer)
    setPreview(null)
    setFile(null)
    setPasted('')
    if (input.current) input.current.value = ''
  }

  const lineErrors = errors.filter((e) => e.line != null)
  const otherErrors = errors.filter((e) => e.line == null)
  return (
    <div className="card">
      <h2>Import items</h2>
      <p className="muted small">
        Upload a JSONL file (one item per line), a CSV or a JSON file, or paste JSON or JSONL below. Each item has a
        conversation and, for {project.kind} projects,
        {project.kind === 'demonstration' ? ' no responses' : ' its responses'}. Preview first: nothing is written until
        you import, and items already imported (same id) are skipped.
      </p>
      <form className="import-form" onSubmit={check}>
        <input ref={input} type="file" name="file" aria-label="Import file" accept=".jsonl,.json,.csv,.ndjson,text/csv,application/json"
               onChange={(e) => chooseFile(e.target.files?.[0] ?? null)} />
        <textarea data-testid="import-paste" aria-label="Paste JSON or JSONL" rows={5} style={{ flex: '1 1 24rem' }}
                  placeholder='Or paste JSONL: {"external_id": "p-1", "prompt": "…", "responses": ["…", "…"]}'
                  value={pasted} onChange={(e) => paste(e.target.value)} />
        <button type="submit" className="btn" disabled={!source || busy !== null}>
          {busy === 'preview' ? 'Checking…' : 'Preview'}
        </button>
        <button type="button" className="btn btn-primary" disabled={!preview?.ok || busy !== null} onClick={write}>
          {busy === 'import' ? 'Importing…' : 'Import'}
        </button>
      </form>
      {preview && <PreviewTable preview={preview} />}
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
          <p className="form-error">Nothing was imported: fix these lines and try again.</p>
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

function PreviewTable({ preview }: { preview: ImportPreview }) {
  return (
    <div data-testid="import-preview" className="table-wrap">
      <p className={preview.ok ? 'banner banner-ok' : 'form-error'} role="status">{previewSummary(preview)}</p>
      {preview.rows.length > 0 && (
        <table className="table" data-testid="import-preview-rows">
          <caption className="muted small">
            {preview.ok ? `The first ${preview.rows.length} items, as they will be stored` : 'The valid items before the first problem'}
          </caption>
          <thead>
            <tr>
              <th className="num">Line</th>
              <th>Id</th>
              <th>Prompt</th>
              <th className="num">Turns</th>
              <th>Responses</th>
            </tr>
          </thead>
          <tbody>
            {preview.rows.map((row) => (
              <tr key={row.line}>
                <td className="num">{row.line}</td>
                <td><code>{row.external_id}</code></td>
                <td>{promptOf(row)}</td>
                <td className="num">{row.conversation.length}</td>
                <td className="small">
                  {row.responses.length === 0 ? 'none' : row.responses.map((r, i) => (
                    <div key={i}>{String.fromCharCode(65 + i)}: {r.text.length > 60 ? `${r.text.slice(0, 60)}…` : r.text}
                      {r.model && <span className="muted"> ({r.model})</span>}</div>
                  ))}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </div>
  )
}
