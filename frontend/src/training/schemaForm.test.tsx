import { fireEvent, render, screen } from '@testing-library/react'
import { useState } from 'react'
import { describe, expect, it } from 'vitest'
import type { FieldError } from '../lib/api'
import { SchemaForm } from './SchemaForm'
import { initialValues, parseValue, schemaFields, toConfig, type FormValues } from './schemaForm'
import type { ConfigSchema } from './types'

const SCHEMA: ConfigSchema = {
  type: 'object',
  additionalProperties: false,
  properties: {
    learning_rate: { type: 'number', default: 5e-5, exclusiveMinimum: 0, maximum: 1, description: 'Peak learning rate of AdamW.' },
    max_steps: { type: 'integer', default: 60, minimum: -1, description: 'Optimizer steps; -1 for whole epochs.' },
    use_peft: { type: 'boolean', default: false, description: 'Train LoRA adapters only.' },
    lr_scheduler_type: { type: 'string', enum: ['linear', 'cosine', 'constant'], default: 'linear', description: 'Schedule.' },
    lora_target_modules: { type: ['string', 'null'], default: null, description: 'Modules to adapt.' },
    max_grad_norm: { type: ['number', 'null'], default: 1, description: 'Clip gradients; none to not clip.' },
    bf16: { type: ['boolean', 'null'], default: null, description: 'bf16 when the device has it.' },
    loss_type: { type: ['string', 'null'], enum: ['sigmoid', 'ipo'], default: 'sigmoid', description: 'DPO loss.' },
  },
}

const fields = schemaFields(SCHEMA)
const field = (name: string) => fields.find((f) => f.name === name)!

describe('schemaFields', () => {
  it('reads type, nullability, choices, range, default and description of each property in order', () => {
    expect(fields.map((f) => [f.name, f.type, f.nullable])).toEqual([
      ['learning_rate', 'number', false],
      ['max_steps', 'integer', false],
      ['use_peft', 'boolean', false],
      ['lr_scheduler_type', 'string', false],
      ['lora_target_modules', 'string', true],
      ['max_grad_norm', 'number', true],
      ['bf16', 'boolean', true],
      ['loss_type', 'string', true],
    ])
    expect(field('learning_rate')).toMatchObject({ exclusiveMinimum: 0, maximum: 1, default: 5e-5, description: 'Peak learning rate of AdamW.' })
    expect(field('lr_scheduler_type').options).toEqual(['linear', 'cosine', 'constant'])
    expect(field('loss_type').options).toEqual(['sigmoid', 'ipo', null])
  })

  it('understands anyOf-style nullables too', () => {
    const [f] = schemaFields({ properties: { beta: { anyOf: [{ type: 'number' }, { type: 'null' }], default: 0.1 } } })
    expect(f).toMatchObject({ type: 'number', nullable: true, default: 0.1 })
  })
})

describe('toConfig', () => {
  it('sends nothing when every value is its default, and everything when asked to', () => {
    const values = initialValues(fields)
    expect(toConfig(fields, values)).toEqual({ config: {}, errors: [] })
    expect(toConfig(fields, values, { all: true }).config).toEqual({
      learning_rate: 5e-5, max_steps: 60, use_peft: false, lr_scheduler_type: 'linear',
      lora_target_modules: null, max_grad_norm: 1, bf16: null, loss_type: 'sigmoid',
    })
  })

  it('sends the changed values with their schema types, empty nullable boxes as null', () => {
    const values: FormValues = {
      ...initialValues(fields),
      learning_rate: '1e-4', max_steps: '20', use_peft: true, lr_scheduler_type: '"cosine"',
      lora_target_modules: 'q_proj,v_proj', max_grad_norm: '', bf16: 'true', loss_type: 'null',
    }
    expect(toConfig(fields, values)).toEqual({
      config: { learning_rate: 1e-4, max_steps: 20, use_peft: true, lr_scheduler_type: 'cosine', lora_target_modules: 'q_proj,v_proj', max_grad_norm: null, bf16: true, loss_type: null },
      errors: [],
    })
  })

  it('names each value that is not of its type or out of range as config.<name>', () => {
    const values = { ...initialValues(fields), learning_rate: '0', max_steps: '2.5' }
    expect(toConfig(fields, values).errors).toEqual([
      { field: 'config.learning_rate', message: 'Must be more than 0.' },
      { field: 'config.max_steps', message: 'Enter a whole number.' },
    ])
    expect(parseValue(field('max_steps'), '-2')).toEqual({ error: 'Must be at least -1.' })
    expect(parseValue(field('learning_rate'), '2')).toEqual({ error: 'Must be at most 1.' })
    expect(parseValue(field('learning_rate'), '')).toEqual({ error: 'Enter a number.' })
    expect(parseValue(field('learning_rate'), 'abc')).toEqual({ error: 'Enter a number.' })
  })

  it('starts from a stored config when given one', () => {
    const values = initialValues(fields, { max_steps: 5, lora_target_modules: 'all-linear', bf16: false })
    expect(values).toMatchObject({ max_steps: '5', lora_target_modules: 'all-linear', bf16: 'false', use_peft: false })
  })
})

function Harness({ errors = [] }: { errors?: FieldError[] }) {
  const [values, setValues] = useState(() => initialValues(fields))
  return (
    <>
      <SchemaForm fields={fields} values={values} errors={errors} onChange={(name, v) => setValues((all) => ({ ...all, [name]: v }))} />
      <output data-testid="config">{JSON.stringify(toConfig(fields, values).config)}</output>
    </>
  )
}

const sent = () => JSON.parse(screen.getByTestId('config').textContent!)

describe('SchemaForm', () => {
  it('prefills the defaults into labelled controls of the right type, with the description as help', () => {
    render(<Harness />)
    const lr = screen.getByLabelText('learning_rate') as HTMLInputElement
    expect(lr.type).toBe('number')
    expect(lr.value).toBe('0.00005')
    expect(lr.getAttribute('step')).toBe('any')
    expect((screen.getByLabelText('max_steps') as HTMLInputElement).getAttribute('step')).toBe('1')
    expect((screen.getByLabelText('use_peft') as HTMLInputElement).checked).toBe(false)
    const scheduler = screen.getByLabelText('lr_scheduler_type') as HTMLSelectElement
    expect([...scheduler.options].map((o) => o.textContent)).toEqual(['linear', 'cosine', 'constant'])
    expect(scheduler.value).toBe('"linear"')
    expect((screen.getByLabelText('lora_target_modules') as HTMLInputElement).value).toBe('')
    expect([...(screen.getByLabelText('bf16') as HTMLSelectElement).options].map((o) => o.textContent)).toEqual(['yes', 'no', '(none)'])
    expect(screen.getByLabelText('learning_rate').getAttribute('aria-describedby')).toBeTruthy()
    expect(screen.getByText('Peak learning rate of AdamW.')).toBeTruthy()
    expect(screen.getByText(/number, > 0, ≤ 1; default 0.00005/)).toBeTruthy()
    expect(sent()).toEqual({})
  })

  it('sends what was changed and offers to reset it', () => {
    render(<Harness />)
    fireEvent.change(screen.getByLabelText('max_steps'), { target: { value: '20' } })
    fireEvent.click(screen.getByLabelText('use_peft'))
    fireEvent.change(screen.getByLabelText('lr_scheduler_type'), { target: { value: '"cosine"' } })
    fireEvent.change(screen.getByLabelText('loss_type'), { target: { value: 'null' } })
    fireEvent.change(screen.getByLabelText('max_grad_norm'), { target: { value: '' } })
    expect(sent()).toEqual({ max_steps: 20, use_peft: true, lr_scheduler_type: 'cosine', loss_type: null, max_grad_norm: null })
    fireEvent.click(screen.getByRole('button', { name: 'Reset max_steps to its default' }))
    expect((screen.getByLabelText('max_steps') as HTMLInputElement).value).toBe('60')
    expect(sent()).not.toHaveProperty('max_steps')
  })

  it('shows an error under the field it names and marks the control invalid', () => {
    render(<Harness errors={[{ field: 'config.max_steps', message: 'must be at most 10000' }, { field: 'snapshot', message: 'not ready' }]} />)
    const input = screen.getByLabelText('max_steps')
    expect(input.getAttribute('aria-invalid')).toBe('true')
    const error = screen.getByText('must be at most 10000')
    expect(input.getAttribute('aria-describedby')).toContain(error.id)
    expect(error.closest('[data-field]')?.getAttribute('data-field')).toBe('max_steps')
    expect(screen.queryByText('not ready')).toBeNull()
    expect(screen.getByLabelText('learning_rate').getAttribute('aria-invalid')).toBeNull()
  })
})
