// Rendering a training screen in a test: a signed-in session and a fresh query cache that does not retry.
import type { ReactNode } from 'react'
import { vi } from 'vitest'
import { renderInApp, testQueryClient } from '../../testing/render'

export function renderWithSession(ui: ReactNode, { staff = true }: { staff?: boolean } = {}) {
  const client = testQueryClient()
  const me = { id: 1, username: staff ? 'admin' : 'lead', is_staff: staff, projects: [] }
  return { ...renderInApp(ui, { client, me }), client }
}

export const json = (status: number, body: unknown) => new Response(body === null ? null : JSON.stringify(body), { status })

export interface Call {
  method: string
  url: string
  body: unknown
}

/** Stub `fetch`: `handler` answers each request; one it returns nothing for fails as a network error would. */
export function stubFetch(handler: (call: Call) => Response | undefined): Call[] {
  const calls: Call[] = []
  vi.stubGlobal('fetch', vi.fn(async (url: string, init: RequestInit = {}) => {
    const call = { method: init.method ?? 'GET', url, body: init.body ? JSON.parse(String(init.body)) : null }
    calls.push(call)
    const response = handler(call)
    if (!response) throw new Error(`unexpected ${call.method} ${url}`)
    return response
  }))
  return calls
}
