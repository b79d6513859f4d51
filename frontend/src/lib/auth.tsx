import { createContext, useContext } from 'react'
import type { Me } from './types'

export interface Session {
  me: Me
  refresh: () => Promise<void>
  logout: () => Promise<void>
}

export const SessionContext = createContext<Session | null>(null)

export function useSession(): Session {
  const session = useContext(SessionContext)
  if (!session) throw new Error('useSession outside a logged-in screen')
  return session
}

/** Can this user lead the project (see its dashboard, items, members)? */
export function isLead(me: Me, projectId: number): boolean {
  return me.is_staff || me.projects.some((p) => p.id === projectId && p.role === 'lead')
}
