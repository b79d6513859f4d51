// Pieces the closing-the-loop screens share: a plain message for an endpoint the server lacks, a
// model picker, and the note a lead sees where only an admin may launch.
import { errorText } from '../../lib/errors'
import type { Me } from '../../lib/types'
import { formatParams } from '../format'
import { SelectField } from '../parts'
import type { TrainedModel } from '../types'
import { notDeployed } from './queries'

/** A failed read or write: "not on this server yet" for a 404, the error otherwise. */
export function Problem({ error, what, endpoint }: { error: unknown; what: string; endpoint: string }) {
  if (notDeployed(error)) {
    return (
      <p className="banner banner-info" data-testid="not-deployed" data-endpoint={endpoint}>
        <span>
          {what} is not available on this server yet: <code>{endpoint}</code> answered 404.
        </span>
      </p>
    )
  }
  return (
    <p className="form-error" role="alert">
      Could not load {what.toLowerCase()}: {errorText(error)}
    </p>
  )
}

/**
 * Who may launch the loop's jobs from these screens: admins, as docs/TRAINING_API.md says of every
 * job. (The server as built also lets a project's lead start a round or an AI annotator into a
 * project they lead; widening this is the one line to change if that becomes the rule.)
 */
export function mayLaunch(me: Me): boolean {
  return me.is_staff
}

/** A round or the AI annotator for a project: admins, and the project's own leads (the server allows both). */
export function mayLaunchInto(me: Me, projectId: number): boolean {
  return me.is_staff || me.projects.some((p) => p.id === projectId && p.role === 'lead')
}

export function AdminLaunches({ what }: { what: string }) {
  return (
    <p className="banner banner-info small" data-testid="admin-launches">
      Only admins launch jobs: an admin starts {what} from this page.
    </p>
  )
}

export function modelOption(m: TrainedModel): string {
  return `${m.name} · ${m.kind} · ${m.architecture || m.task} · ${formatParams(m.parameter_count)}`
}

interface PickerProps {
  label: string
  name: string
  models: TrainedModel[]
  value: string
  onChange: (value: string) => void
  empty: string
  error?: string
  hint?: string
  loading?: boolean
  disabled?: boolean
}

export function ModelSelect({ label, name, models, value, onChange, empty, error, hint, loading, disabled }: PickerProps) {
  const shown = loading ? 'loading the models…' : models.length === 0 ? 'No model fits.' : hint
  return (
    <SelectField label={label} name={name} value={value} onChange={onChange} error={error} hint={shown} disabled={disabled}>
      <option value="">{empty}</option>
      {models.map((m) => (
        <option key={m.id} value={m.id}>
          {modelOption(m)}
        </option>
      ))}
    </SelectField>
  )
}

/** Policies a round or a constitutional job can sample from: causal LMs, base or trained. */
export function policyModels(models: TrainedModel[]): TrainedModel[] {
  return models.filter((m) => m.task === 'causal-lm' && (m.kind === 'policy' || m.kind === 'base'))
}
