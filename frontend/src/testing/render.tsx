// Rendering a screen in a test with what `main.tsx` and `App` put around it: a router over jsdom's URL, a fresh
// query cache that does not retry (a test's stubbed answer is final), and a signed-in session (a test may set its
// own SessionContext inside; the nearest one wins).
import { QueryClient, QueryClientProvider } from '@tanstack/react-query'
import { render } from '@testing-library/react'
import { useState, type ReactNode } from 'react'
import { BrowserRouter } from 'react-router'
import { vi } from 'vitest'
import { SessionContext, type Session } from '../lib/auth'
import type { Me } from '../lib/types'

export const testQueryClient = () => new QueryClient({ defaultOptions: { queries: { retry: false }, mutations: { retry: false } } })

export function testSession(me: Me): Session {
  return { me, refresh: vi.fn(async () => {}), logout: vi.fn(async () => {}) }
}

const LEAD: Me = { id: 1, username: 'lead', is_staff: false, projects: [] }

export function AppProviders({ children, client, me = LEAD }: { children: ReactNode; client?: QueryClient; me?: Me }) {
  const [queryClient] = useState(() => client ?? testQueryClient())
  const [session] = useState(() => testSession(me))
  return (
    <QueryClientProvider client={queryClient}>
      <BrowserRouter>
        <SessionContext.Provider value={session}>{children}</SessionContext.Provider>
      </BrowserRouter>
    </QueryClientProvider>
  )
}

/** `render` inside AppProviders. */
export function renderInApp(ui: ReactNode, options: { client?: QueryClient; me?: Me } = {}) {
  return render(ui, { wrapper: ({ children }) => <AppProviders {...options}>{children}</AppProviders> })
}
