// A kind's config JSON schema as form fields, and the form's values back to a config. The form holds
// text as typed (a half-typed "0." stays), a checkbox's boolean, or an enum option's JSON; a nullable
// number or string left empty means null.
import type { FieldError } from '../lib/api'
import type { ConfigSchema, SchemaProperty } from './types'

export type FieldType = 'integer' | 'number' | 'boolean' | 'string'

export interface SchemaField {
  name: string
  type: FieldType
  nullable: boolean
  /** Closed choice; the values as the schema lists them (null among them when nullable). */
  options: unknown[] | null
  default: unknown
  description: string
  minimum?: number
  maximum?: number
  exclusiveMinimum?: number
  exclusiveMaximum?: number
}

export type FormValue = string | boolean
export type FormValues = Record<string, FormValue>

const TYPES: FieldType[] = ['integer', 'number', 'boolean', 'string']

function typesOf(prop: SchemaProperty): string[] {
  if (Array.isArray(prop.type)) return prop.type
  if (typeof prop.type === 'string') return [prop.type]
  if (prop.anyOf) return prop.anyOf.flatMap((p) => (p.type ? [p.type] : []))
  if (prop.enum) return [...new Set(prop.enum.map((v) => (v === null ? 'null' : Number.isInteger(v) ? 'integer' : typeof v)))]
  return ['string']
}

/** The fields in the schema's order. A property of a type the form cannot edit is a string field. */
export function schemaFields(schema: ConfigSchema | null | undefined): SchemaField[] {
  return Object.entries(schema?.properties ?? {}).map(([name, prop]) => {
    const types = typesOf(prop)
    const nullable = types.includes('null') || prop.default === null
    const type = TYPES.find((t) => types.includes(t)) ?? 'string'
    const listed = prop.enum ?? prop.anyOf?.find((p) => p.enum)?.enum ?? null
    const options = listed && nullable && !listed.includes(null) ? [...listed, null] : listed
    return {
      name, type, nullable, options,
      default: prop.default ?? null,
      description: prop.description ?? '',
      minimum: prop.minimum, maximum: prop.maximum, exclusiveMinimum: prop.exclusiveMinimum, exclusiveMaximum: prop.exclusiveMaximum,
    }
  })
}

/** A select for closed choices and for nullable booleans (yes / no / not set); a checkbox for booleans. */
export function widgetOf(field: SchemaField): 'select' | 'checkbox' | 'input' {
  if (field.options) return 'select'
  if (field.type === 'boolean') return field.nullable ? 'select' : 'checkbox'
  return 'input'
}

/** Choices of a select: JSON-encoded values and their labels. */
export function choicesOf(field: SchemaField): { value: string; label: string }[] {
  const values = field.options ?? [true, false, null]
  return values.map((v) => ({ value: JSON.stringify(v), label: v === null ? '(none)' : v === true ? 'yes' : v === false ? 'no' : String(v) }))
}

/** What the form shows for a config value. */
export function toFormValue(field: SchemaField, value: unknown): FormValue {
  if (widgetOf(field) === 'select') return JSON.stringify(value ?? null)
  if (widgetOf(field) === 'checkbox') return value === true
  return value === null || value === undefined ? '' : String(value)
}

export function initialValues(fields: SchemaField[], config: Record<string, unknown> = {}): FormValues {
  return Object.fromEntries(fields.map((f) => [f.name, toFormValue(f, f.name in config ? config[f.name] : f.default)]))
}

/** A form value as config, or the message saying why it cannot be one. */
export function parseValue(field: SchemaField, raw: FormValue): { value: unknown } | { error: string } {
  const widget = widgetOf(field)
  if (widget === 'checkbox') return { value: raw === true }
  if (widget === 'select') {
    try {
      return { value: JSON.parse(String(raw)) }
    } catch {
      return { error: 'Choose one of the options.' }
    }
  }
  const text = String(raw).trim()
  if (text === '') {
    if (field.nullable) return { value: null }
    if (field.type === 'string') return { value: '' }
    return { error: field.type === 'integer' ? 'Enter a whole number.' : 'Enter a number.' }
  }
  if (field.type === 'string') return { value: String(raw) }
  const n = Number(text)
  if (!Number.isFinite(n)) return { error: field.type === 'integer' ? 'Enter a whole number.' : 'Enter a number.' }
  if (field.type === 'integer' && !Number.isSafeInteger(n)) return { error: 'Enter a whole number.' }
  const range = rangeError(field, n)
  return range ? { error: range } : { value: n }
}

function rangeError(field: SchemaField, n: number): string | null {
  if (field.minimum !== undefined && n < field.minimum) return `Must be at least ${field.minimum}.`
  if (field.exclusiveMinimum !== undefined && n <= field.exclusiveMinimum) return `Must be more than ${field.exclusiveMinimum}.`
  if (field.maximum !== undefined && n > field.maximum) return `Must be at most ${field.maximum}.`
  if (field.exclusiveMaximum !== undefined && n >= field.exclusiveMaximum) return `Must be less than ${field.exclusiveMaximum}.`
  return null
}

/** The range as a hint: "0 < x ≤ 1", "≥ -1". */
export function describeRange(field: SchemaField): string {
  const low = field.exclusiveMinimum !== undefined ? `> ${field.exclusiveMinimum}` : field.minimum !== undefined ? `≥ ${field.minimum}` : ''
  const high = field.exclusiveMaximum !== undefined ? `< ${field.exclusiveMaximum}` : field.maximum !== undefined ? `≤ ${field.maximum}` : ''
  return [low, high].filter(Boolean).join(', ')
}

const same = (a: unknown, b: unknown) => JSON.stringify(a) === JSON.stringify(b)

/**
 * The config to send: only the fields whose value differs from the default (the server fills the
 * rest in), unless `all`. Errors are named `config.<field>` like the server's.
 */
export function toConfig(fields: SchemaField[], values: FormValues, options: { all?: boolean } = {}): { config: Record<string, unknown>; errors: FieldError[] } {
  const config: Record<string, unknown> = {}
  const errors: FieldError[] = []
  for (const field of fields) {
    const parsed = parseValue(field, values[field.name] ?? toFormValue(field, field.default))
    if ('error' in parsed) errors.push({ field: `config.${field.name}`, message: parsed.error })
    else if (options.all || !same(parsed.value, field.default)) config[field.name] = parsed.value
  }
  return { config, errors }
}

/** Is the field's value other than its default (as it would be sent)? */
export function isChanged(field: SchemaField, raw: FormValue | undefined): boolean {
  if (raw === undefined) return false
  const parsed = parseValue(field, raw)
  return 'error' in parsed || !same(parsed.value, field.default)
}

/** The messages of the errors that name exactly `field` (`config.beta`, `snapshot`), as one line. */
export function messagesFor(errors: FieldError[], field: string): string {
  return errors.filter((e) => e.field === field).map((e) => e.message).join(' ')
}
