// The "new round" form as typed, and the generate job's body it stands for (docs/TRAINING_API.md,
// "Closing the loop"): the same body is previewed and then launched. Numbers are kept as typed;
// an empty optional number is left out, so the server's default applies. Prompts come from a project
// (`config.source_project`) or from a snapshot, which is the job's own `snapshot` as for any job.
import type { FieldError } from '../../lib/api'

export interface RoundForm {
  policy: string
  source: 'project' | 'snapshot'
  snapshot: string
  candidates: string
  compareWith: string
  temperature: string
  maxNewTokens: string
  maxPrompts: string
}

export const EMPTY_ROUND: RoundForm = { policy: '', source: 'project', snapshot: '', candidates: '', compareWith: '', temperature: '', maxNewTokens: '', maxPrompts: '' }

/** The form field each body field is shown under (server errors name the body's fields). */
export const ROUND_FIELDS: Record<string, keyof RoundForm> = {
  base_model: 'policy',
  'config.source_project': 'source',
  snapshot: 'snapshot',
  'config.candidates_per_prompt': 'candidates',
  'config.compare_with_model': 'compareWith',
  'config.temperature': 'temperature',
  'config.max_new_tokens': 'maxNewTokens',
  'config.max_prompts': 'maxPrompts',
}

function wholeNumber(text: string, field: string, min: number, errors: FieldError[]): number | undefined {
  const n = Number(text)
  if (!/^\s*-?\d+\s*$/.test(text) || !Number.isSafeInteger(n)) errors.push({ field, message: 'Must be a whole number.' })
  else if (n < min) errors.push({ field, message: `Must be at least ${min}.` })
  else return n
  return undefined
}

/**
 * The body of the generate job, or the errors that keep it from being sent. An empty `candidates`
 * is sent as null: the server takes what the project shows (2 for pairwise, its ranking size).
 */
export function roundBody(form: RoundForm, projectId: number): { body: Record<string, unknown> | null; errors: FieldError[] } {
  const errors: FieldError[] = []
  if (!form.policy) errors.push({ field: 'base_model', message: 'Choose the policy that answers the prompts.' })
  if (form.source === 'snapshot' && !form.snapshot) errors.push({ field: 'snapshot', message: 'Choose a snapshot.' })
  if (form.compareWith && form.compareWith === form.policy) errors.push({ field: 'config.compare_with_model', message: 'Compare with another model than the policy.' })
  const candidates = form.candidates.trim() ? wholeNumber(form.candidates, 'config.candidates_per_prompt', 2, errors) : null
  const config: Record<string, unknown> = { target_project: projectId }
  if (form.source === 'project') config.source_project = projectId
  config.candidates_per_prompt = candidates
  config.compare_with_model = form.compareWith ? Number(form.compareWith) : null
  if (form.temperature.trim()) {
    const t = Number(form.temperature)
    if (!Number.isFinite(t) || t <= 0) errors.push({ field: 'config.temperature', message: 'Must be a number above 0.' })
    else config.temperature = t
  }
  if (form.maxNewTokens.trim()) config.max_new_tokens = wholeNumber(form.maxNewTokens, 'config.max_new_tokens', 1, errors)
  if (form.maxPrompts.trim()) config.max_prompts = wholeNumber(form.maxPrompts, 'config.max_prompts', 1, errors)
  if (errors.length) return { body: null, errors }
  const body: Record<string, unknown> = { kind: 'generate', base_model: Number(form.policy), config }
  if (form.source === 'snapshot') body.snapshot = Number(form.snapshot)
  return { body, errors }
}

/** The message for one form field among a list of errors named by body field. */
export function roundError(errors: FieldError[], field: keyof RoundForm): string {
  return errors.filter((e) => e.field && ROUND_FIELDS[e.field] === field).map((e) => e.message).join(' ')
}
