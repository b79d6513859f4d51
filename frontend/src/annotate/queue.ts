// The app's one answer queue, shared by every screen so a pending answer survives navigation.
import { useSyncExternalStore } from 'react'
import { request } from '../lib/api'
import { pushNotice } from '../lib/notices'
import { RetryQueue, type Outcome, type PendingAction, type QueueState } from './retryQueue'
import { apiPaths } from '../lib/paths'

function send(action: PendingAction): Promise<unknown> {
  const verb = action.kind === 'submit' ? 'submit' : 'skip'
  return request('POST', apiPaths.assignmentAction(action.assignment, verb), {
    body: action.body,
    headers: { 'Idempotency-Key': action.key },
  }).then((r) => r.data)
}

export function describeErrors(outcome: Outcome): string {
  if (outcome.status === 'ok') return ''
  return outcome.errors.map((e) => (e.field ? `${e.field}: ${e.message}` : e.message)).join('; ')
}

function reportRestored(action: PendingAction, outcome: Outcome): void {
  const what = action.kind === 'submit' ? 'A saved answer' : 'A saved skip'
  if (outcome.status === 'ok') pushNotice('ok', `${what} from earlier was delivered.`)
  else if (outcome.status === 'conflict') pushNotice('warn', `${what} could not be recorded: its slot had been given to someone else.`, 0)
  else pushNotice('error', `${what} was refused by the server: ${describeErrors(outcome) || 'no reason given'}.`, 0)
}

export const answerQueue = new RetryQueue({
  send,
  storage: typeof window !== 'undefined' ? window.localStorage : null,
  onSettled: reportRestored,
})

if (typeof window !== 'undefined') window.addEventListener('online', () => answerQueue.retryNow())

export function useQueueState(): QueueState {
  return useSyncExternalStore(
    (l) => answerQueue.subscribe(l),
    () => answerQueue.getState(),
  )
}
