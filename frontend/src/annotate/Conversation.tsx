import { memo } from 'react'
import { Markdown } from '../components/Markdown'
import type { Turn } from '../lib/types'

const ROLE_LABEL: Record<string, string> = { user: 'User', assistant: 'Assistant', system: 'System' }

function ConversationImpl({ turns }: { turns: Turn[] }) {
  return (
    <section className="conversation" aria-label="Conversation">
      {turns.map((turn, i) => (
        <div key={i} className={`turn turn-${/^[a-z]+$/.test(turn.role) ? turn.role : 'other'}`}>
          <div className="turn-role">{ROLE_LABEL[turn.role] ?? turn.role}</div>
          <Markdown>{turn.content}</Markdown>
        </div>
      ))}
    </section>
  )
}

export const Conversation = memo(ConversationImpl)
