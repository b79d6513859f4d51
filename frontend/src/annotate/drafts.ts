// Demonstration drafts: what an annotator typed survives a reload or a crash, one draft per user, project and item,
// kept in localStorage until the answer is accepted. Only the newest few are kept, so abandoned drafts do not pile up.

const PREFIX = 'rlhf.draft.v1:'
const KEEP = 20

export const draftKey = (user: string, project: number, item: number) => `${PREFIX}${user}:${project}:${item}`

interface Stored {
  text: string
  savedAt: number
}

function storage(): Storage | null {
  try {
    return window.localStorage
  } catch {
    return null // storage disabled: drafts are simply not kept
  }
}

export function loadDraft(key: string): string {
  try {
    const raw = storage()?.getItem(key)
    return raw ? (JSON.parse(raw) as Stored).text ?? '' : ''
  } catch {
    return ''
  }
}

export function saveDraft(key: string, text: string): void {
  const store = storage()
  if (!store) return
  try {
    if (!text) return store.removeItem(key)
    const isNew = store.getItem(key) === null
    store.setItem(key, JSON.stringify({ text, savedAt: Date.now() } satisfies Stored))
    if (isNew) prune(store)
  } catch {
    // quota exceeded: the draft is a convenience, the editor keeps the text
  }
}

export function clearDraft(key: string): void {
  storage()?.removeItem(key)
}

function prune(store: Storage): void {
  const drafts: [string, number][] = []
  for (let i = 0; i < store.length; i++) {
    const key = store.key(i)
    if (!key?.startsWith(PREFIX)) continue
    try {
      drafts.push([key, (JSON.parse(store.getItem(key) ?? '{}') as Stored).savedAt ?? 0])
    } catch {
      drafts.push([key, 0])
    }
  }
  drafts.sort((a, b) => b[1] - a[1])
  drafts.slice(KEEP).forEach(([key]) => store.removeItem(key))
}
