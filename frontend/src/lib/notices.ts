// Notices: short messages any screen can raise (a lost slot, a rejected answer restored after reload).
import { useSyncExternalStore } from 'react'

export interface Notice {
  id: number
  tone: 'info' | 'warn' | 'error' | 'ok'
  text: string
}

let notices: Notice[] = []
let noticeSeq = 0
const noticeListeners = new Set<() => void>()

function emitNotices(next: Notice[]): void {
  notices = next
  noticeListeners.forEach((l) => l())
}

export function pushNotice(tone: Notice['tone'], text: string, ttlMs = 8000): void {
  const notice = { id: ++noticeSeq, tone, text }
  emitNotices([...notices.slice(-3), notice])
  if (ttlMs > 0) setTimeout(() => dismissNotice(notice.id), ttlMs)
}

export function dismissNotice(id: number): void {
  emitNotices(notices.filter((n) => n.id !== id))
}

export function useNotices(): Notice[] {
  return useSyncExternalStore(
    (l) => {
      noticeListeners.add(l)
      return () => noticeListeners.delete(l)
    },
    () => notices,
  )
}
