import { describe, expect, it } from 'vitest'
import { constitutionBody, normaliseField } from './constitutionForm'
import { EMPTY_ROUND, roundBody, roundError } from './roundForm'

describe('roundBody', () => {
  it('builds the generate job from this project’s prompts, leaving the candidates to the project and nothing else set', () => {
    expect(roundBody({ ...EMPTY_ROUND, policy: '9' }, 1)).toEqual({
      body: { kind: 'generate', base_model: 9, config: { target_project: 1, source_project: 1, candidates_per_prompt: null, compare_with_model: null } },
      errors: [],
    })
  })

  it('reads prompts from a snapshot (the job’s own), compares with a second model and sends the numbers typed', () => {
    const { body } = roundBody({ ...EMPTY_ROUND, policy: '9', source: 'snapshot', snapshot: '4', candidates: '4', compareWith: '2', temperature: '0.7', maxNewTokens: '64', maxPrompts: '50' }, 1)
    expect(body).toEqual({
      kind: 'generate', base_model: 9, snapshot: 4,
      config: { target_project: 1, candidates_per_prompt: 4, compare_with_model: 2, temperature: 0.7, max_new_tokens: 64, max_prompts: 50 },
    })
  })

  it('names each field it cannot send', () => {
    const { body, errors } = roundBody({ ...EMPTY_ROUND, source: 'snapshot', candidates: '1.5', temperature: '0', maxNewTokens: '0', maxPrompts: 'x' }, 1)
    expect(body).toBeNull()
    expect(errors.map((e) => e.field)).toEqual(['base_model', 'snapshot', 'config.candidates_per_prompt', 'config.temperature', 'config.max_new_tokens', 'config.max_prompts'])
    expect(roundError(errors, 'maxNewTokens')).toBe('Must be at least 1.')
    expect(roundError(errors, 'snapshot')).toBe('Choose a snapshot.')
    expect(roundBody({ ...EMPTY_ROUND, policy: '9', candidates: '1' }, 1).errors[0]).toEqual({ field: 'config.candidates_per_prompt', message: 'Must be at least 2.' })
    expect(roundBody({ ...EMPTY_ROUND, policy: '9', compareWith: '9' }, 1).errors[0].field).toBe('config.compare_with_model')
  })
})

describe('constitutionBody', () => {
  it('trims the text and names the empty boxes by principle', () => {
    expect(constitutionBody({ name: ' Harmless ', principles: [{ critique: ' Is it harmful? ', revision: 'Make it harmless.' }] })).toEqual({
      body: { name: 'Harmless', principles: [{ critique: 'Is it harmful?', revision: 'Make it harmless.' }] },
      errors: [],
    })
    const { body, errors } = constitutionBody({ name: '', principles: [{ critique: 'a', revision: '' }, { critique: ' ', revision: 'b' }] })
    expect(body).toBeNull()
    expect(errors.map((e) => e.field)).toEqual(['name', 'principles.0.revision', 'principles.1.critique'])
    expect(constitutionBody({ name: 'x', principles: [] }).errors[0].field).toBe('principles')
    expect(normaliseField('principles[2].critique')).toBe('principles.2.critique')
  })
})
