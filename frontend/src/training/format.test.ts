import { describe, expect, it } from 'vitest'
import { flatten, formatEta, formatParams, formatTick, formatTicks, padRange } from './format'

describe('formatTicks', () => {
  it('gives neighbouring ticks different labels, with no more digits than that takes', () => {
    expect(formatTicks([0.695, 0.7, 0.705])).toEqual(['0.695', '0.700', '0.705'])
    expect(formatTicks([0, 2.5, 5, 7.5])).toEqual(['0.0', '2.5', '5.0', '7.5'])
    expect(formatTicks([0, 50, 100])).toEqual(['0', '50', '100'])
    expect(formatTicks([5.9615, 5.962, 5.9625])).toEqual(['5.9615', '5.9620', '5.9625'])
  })

  it('writes learning rates and token counts with exponents', () => {
    expect(formatTicks([0.00009995, 0.0001, 0.00010005])).toEqual(['9.995e-5', '1e-4', '1.0005e-4'])
    expect(formatTicks([0, 2e-5, 4e-5])).toEqual(['0', '2e-5', '4e-5'])
    expect(formatTicks([0, 500000, 1000000])).toEqual(['0', '5e+5', '1e+6'])
  })
})

describe('figures', () => {
  it('writes single values short', () => {
    expect(formatTick(5e-5)).toBe('5e-5')
    expect(formatTick(0.693147)).toBe('0.6931')
    expect(formatEta(12.5)).toBe('13 s')
    expect(formatEta(3725)).toBe('1 h 02 min')
    expect(formatEta(null)).toBe('—')
    expect(formatParams(124_439_808)).toBe('124M')
    expect(formatParams(1_100_000_000)).toBe('1.1B')
  })

  it('flattens nested evaluation figures one level', () => {
    expect(flatten({ eval_loss: 0.6, reward_model: { accuracy: 1, pairs: 6 }, tags: ['a'] })).toEqual([
      ['eval_loss', 0.6], ['reward_model.accuracy', 1], ['reward_model.pairs', 6], ['tags', ['a']],
    ])
  })
})

describe('padRange', () => {
  it('leaves a margin around scattered points, a lone point included', () => {
    expect(padRange(1.5, 2.5)).toEqual([1.42, 2.58])
    expect(padRange(2, 2)).toEqual([1.84, 2.16])
    expect(padRange(0, 0)).toEqual([-0.08, 0.08])
  })
})
