import { fireEvent, screen, waitFor } from '@testing-library/react'
import { describe, expect, it, vi } from 'vitest'
import type { Project } from '../lib/types'
import { ImportForm } from './ImportPage'
import { pastedFile, previewSummary, sourceFile, type ImportPreview } from './importSource'
import { renderInApp } from '../testing/render'

const project: Project = {
  id: 4, name: 'Pairs', kind: 'pairwise', guidelines: '', annotations_per_item: 3, ranking_size: null,
  allow_tie: true, criteria: [], gold_ratio: 0, lease_seconds: 600, role: 'lead', created_at: '',
}

const row = (line: number) => ({
  line, external_id: `p-${line}`, conversation: [{ role: 'user', content: `Question ${line}?` }],
  responses: [{ text: 'Yes.', model: 'sft' }, { text: 'No.', model: '' }], metadata: {},
})

const OK: ImportPreview = { ok: true, created: 2, skipped: 1, skipped_ids: ['p-0'], rows: [row(1), row(2)], errors: [], error_count: 0 }
const BAD: ImportPreview = {
  ok: false, created: null, skipped: null, skipped_ids: [], rows: [row(1)], error_count: 103,
  errors: [
    { line: 2, field: 'responses', message: 'a pairwise project needs exactly 2 responses, got 1' },
    { line: 5, field: 'external_id', message: "duplicate id 'p-1' (first on line 1)" },
    { line: null, field: 'file', message: 'and 101 more errors not listed: the first 100 are' },
  ],
}

const json = (status: number, body: unknown) => new Response(JSON.stringify(body), { status })

function fakeApi(preview: ImportPreview) {
  const sent: { url: string; file: File }[] = []
  vi.stubGlobal('fetch', vi.fn(async (url: string, init: RequestInit = {}) => {
    const file = (init.body as FormData).get('file') as File
    sent.push({ url, file })
    if (url === '/api/projects/4/import/preview/') return json(200, preview)
    if (url === '/api/projects/4/import/') return json(201, { created: 2, skipped: 1, skipped_ids: ['p-0'] })
    throw new Error(`unexpected ${init.method} ${url}`)
  }))
  return sent
}

describe('pastedFile', () => {
  it('sends a JSON list or an items document as .json and lines of objects as .jsonl', () => {
    expect(pastedFile('[{"external_id": "a"}]').name).toBe('pasted.json')
    expect(pastedFile(' {"items": []}\n').name).toBe('pasted.json')
    expect(pastedFile('{"external_id": "a"}\n{"external_id": "b"}').name).toBe('pasted.jsonl')
    expect(pastedFile('{"external_id": "a"}').name).toBe('pasted.jsonl')
    expect(pastedFile('{not json').name).toBe('pasted.jsonl')
  })

  it('prefers a chosen file and sends nothing for blank text', () => {
    const file = new File(['x'], 'items.csv')
    expect(sourceFile(file, '{"a": 1}')).toBe(file)
    expect(sourceFile(null, '  \n')).toBeNull()
    expect(sourceFile(null, '{"a": 1}')?.name).toBe('pasted.jsonl')
  })
})

describe('previewSummary', () => {
  it('says what would be created and skipped, or how many problems stand in the way', () => {
    expect(previewSummary(OK)).toBe('Ready: 2 new items to import; 1 item is already there (same id) and will be skipped.')
    expect(previewSummary({ ...OK, created: 1, skipped: 0 })).toBe('Ready: 1 new item to import.')
    expect(previewSummary(BAD)).toBe('103 problems: nothing can be imported until every one is fixed.')
  })
})

describe('ImportForm', () => {
  it('previews pasted JSONL, shows counts and the first rows, then imports the same text', async () => {
    const sent = fakeApi(OK)
    renderInApp(<ImportForm project={project} />)
    const importButton = screen.getByRole('button', { name: 'Import' })
    expect(importButton).toHaveProperty('disabled', true)
    fireEvent.change(screen.getByTestId('import-paste'), { target: { value: '{"external_id": "p-1"}\n{"external_id": "p-2"}' } })
    fireEvent.click(screen.getByRole('button', { name: 'Preview' }))
    const preview = await screen.findByTestId('import-preview')
    expect(preview.textContent).toContain('Ready: 2 new items to import; 1 item is already there')
    const rows = screen.getByTestId('import-preview-rows').querySelectorAll('tbody tr')
    expect([...rows].map((r) => r.querySelector('code')?.textContent)).toEqual(['p-1', 'p-2'])
    expect(rows[0].textContent).toContain('Question 1?')
    expect(rows[0].textContent).toContain('A: Yes. (sft)')

    await waitFor(() => expect(importButton).toHaveProperty('disabled', false))
    fireEvent.click(importButton)
    await screen.findByText((_, el) => el?.getAttribute('data-testid') === 'import-result' && /Imported 2 new items/.test(el.textContent ?? ''))
    expect(sent.map((s) => s.url)).toEqual(['/api/projects/4/import/preview/', '/api/projects/4/import/'])
    expect(sent.map((s) => s.file.name)).toEqual(['pasted.jsonl', 'pasted.jsonl'])
    expect(await sent[1].file.text()).toBe('{"external_id": "p-1"}\n{"external_id": "p-2"}')
    expect((screen.getByTestId('import-paste') as HTMLTextAreaElement).value).toBe('')
  })

  it('lists every problem of the file at once and keeps Import disabled', async () => {
    fakeApi(BAD)
    renderInApp(<ImportForm project={project} />)
    fireEvent.change(screen.getByLabelText('Import file'), { target: { files: [new File(['{}'], 'items.jsonl')] } })
    fireEvent.click(screen.getByRole('button', { name: 'Preview' }))
    const table = await screen.findByTestId('import-errors')
    const cells = [...table.querySelectorAll('tbody tr')].map((r) => [...r.querySelectorAll('td')].map((td) => td.textContent))
    expect(cells).toEqual([
      ['2', 'responses', 'a pairwise project needs exactly 2 responses, got 1'],
      ['5', 'external_id', "duplicate id 'p-1' (first on line 1)"],
    ])
    expect(screen.getByRole('alert').textContent).toContain('and 101 more errors not listed')
    expect(screen.getByTestId('import-preview').textContent).toContain('103 problems')
    expect(screen.getByRole('button', { name: 'Import' })).toHaveProperty('disabled', true)
  })

  it('forgets the preview when the input changes', async () => {
    fakeApi(OK)
    renderInApp(<ImportForm project={project} />)
    fireEvent.change(screen.getByTestId('import-paste'), { target: { value: '{"external_id": "p-1"}' } })
    fireEvent.click(screen.getByRole('button', { name: 'Preview' }))
    await screen.findByTestId('import-preview')
    fireEvent.change(screen.getByTestId('import-paste'), { target: { value: '{"external_id": "p-9"}' } })
    expect(screen.queryByTestId('import-preview')).toBeNull()
    expect(screen.getByRole('button', { name: 'Import' })).toHaveProperty('disabled', true)
  })
})
