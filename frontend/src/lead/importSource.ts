// What the import screen sends and how it reads the server's preview: pure, no React.

export interface ImportProblem {
  line: number | null
  field: string
  message: string
}

export interface PreviewRow {
  line: number
  external_id: string
  conversation: { role: string; content: string }[]
  responses: { text: string; model: string }[]
  metadata: Record<string, unknown>
}

/** POST /api/projects/{id}/import/preview/: what an import would do, nothing written. */
export interface ImportPreview {
  ok: boolean
  created: number | null
  skipped: number | null
  skipped_ids: string[]
  rows: PreviewRow[]
  errors: ImportProblem[]
  error_count: number
}

/**
 * Pasted text as the file the server reads, so that it gets the same checks and line numbers as an upload:
 * a JSON list or an {"items": [...]} document is a .json file, anything else JSONL (one item per line).
 */
export function pastedFile(text: string): File {
  return new File([text], isJsonDocument(text) ? 'pasted.json' : 'pasted.jsonl', { type: 'application/octet-stream' })
}

function isJsonDocument(text: string): boolean {
  const trimmed = text.trim()
  if (trimmed.startsWith('[')) return true
  if (!trimmed.startsWith('{')) return false
  try {
    const value: unknown = JSON.parse(trimmed)
    return typeof value === 'object' && value !== null && 'items' in value
  } catch {
    return false // several lines of JSON objects: JSONL
  }
}

/** The one source to send: the chosen file, else the pasted text; null when there is neither. */
export function sourceFile(file: File | null, pasted: string): File | null {
  if (file) return file
  return pasted.trim() ? pastedFile(pasted) : null
}

const plural = (n: number, one: string, many: string) => `${n.toLocaleString('en')} ${n === 1 ? one : many}`

export function previewSummary(preview: ImportPreview): string {
  if (!preview.ok) {
    return `${plural(preview.error_count, 'problem', 'problems')}: nothing can be imported until every one is fixed.`
  }
  const skipped = preview.skipped ? `; ${plural(preview.skipped, 'item is', 'items are')} already there (same id) and will be skipped` : ''
  return `Ready: ${plural(preview.created ?? 0, 'new item', 'new items')} to import${skipped}.`
}

/** The turn an annotator answers: the conversation's last (user) message, cut short for a table cell. */
export function promptOf(row: PreviewRow, length = 120): string {
  const text = row.conversation[row.conversation.length - 1]?.content ?? ''
  return text.length > length ? `${text.slice(0, length)}…` : text
}
