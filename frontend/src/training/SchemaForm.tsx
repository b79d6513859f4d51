// The config form of a training kind, generated from its JSON schema: one labelled control per
// property, its description as help text, its default shown, and the server's `config.<name>`
// errors under the control they name.
import { useId } from 'react'
import type { FieldError } from '../lib/api'
import { choicesOf, describeRange, isChanged, messagesFor, toFormValue, widgetOf, type FormValue, type FormValues, type SchemaField } from './schemaForm'

interface Props {
  fields: SchemaField[]
  values: FormValues
  onChange: (name: string, value: FormValue) => void
  errors: FieldError[]
  disabled?: boolean
}

export function SchemaForm({ fields, values, onChange, errors, disabled }: Props) {
  if (fields.length === 0) return <p className="muted small">This kind takes no settings.</p>
  return (
    <div className="schema-form" data-testid="schema-form">
      {fields.map((field) => (
        <SchemaInput key={field.name} field={field} value={values[field.name] ?? toFormValue(field, field.default)} error={messagesFor(errors, `config.${field.name}`)} onChange={(v) => onChange(field.name, v)} disabled={disabled} />
      ))}
    </div>
  )
}

function showDefault(field: SchemaField): string {
  if (field.default === null || field.default === undefined) return 'none'
  if (typeof field.default === 'boolean') return field.default ? 'yes' : 'no'
  return String(field.default)
}

function SchemaInput({ field, value, error, onChange, disabled }: { field: SchemaField; value: FormValue; error: string; onChange: (v: FormValue) => void; disabled?: boolean }) {
  const id = useId()
  const helpId = `${id}-help`
  const errorId = `${id}-error`
  const widget = widgetOf(field)
  const changed = isChanged(field, value)
  const describedBy = [helpId, error ? errorId : null].filter(Boolean).join(' ')
  const range = describeRange(field)
  const common = { id, disabled, 'aria-describedby': describedBy, 'aria-invalid': error ? true : undefined, name: field.name }

  let control
  if (widget === 'checkbox') {
    control = <input type="checkbox" {...common} checked={value === true} onChange={(e) => onChange(e.target.checked)} />
  } else if (widget === 'select') {
    control = (
      <select {...common} value={String(value)} onChange={(e) => onChange(e.target.value)}>
        {choicesOf(field).map((c) => (
          <option key={c.value} value={c.value}>
            {c.label}
          </option>
        ))}
      </select>
    )
  } else if (field.type === 'string') {
    control = <input type="text" {...common} value={String(value)} placeholder={field.nullable ? 'none' : undefined} onChange={(e) => onChange(e.target.value)} />
  } else {
    control = (
      <input
        type="number"
        {...common}
        value={String(value)}
        step={field.type === 'integer' ? 1 : 'any'}
        min={field.minimum}
        max={field.maximum}
        placeholder={field.nullable ? 'none' : undefined}
        onChange={(e) => onChange(e.target.value)}
      />
    )
  }

  return (
    <div className={['schema-field', changed && 'schema-field-changed', widget === 'checkbox' && 'schema-field-check'].filter(Boolean).join(' ')} data-field={field.name}>
      <div className="schema-field-head">
        <label htmlFor={id}>
          <code>{field.name}</code>
        </label>
        {changed && (
          <button type="button" className="btn btn-ghost btn-xs" onClick={() => onChange(toFormValue(field, field.default))} disabled={disabled} aria-label={`Reset ${field.name} to its default`}>
            Reset
          </button>
        )}
      </div>
      {control}
      <span id={helpId} className="schema-help small">
        {field.description}
        <span className="muted">
          {' '}
          ({field.type}
          {field.nullable ? ' or none' : ''}
          {range ? `, ${range}` : ''}; default {showDefault(field)})
        </span>
      </span>
      {error && (
        <span id={errorId} className="field-error">
          {error}
        </span>
      )}
    </div>
  )
}
