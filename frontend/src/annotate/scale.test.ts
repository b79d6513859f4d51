import { describe, expect, it } from 'vitest'
import { choiceToPoint, pointForKey, pointToChoice, scaleOptions, type ScalePoint } from './scale'

const SHOWN = [42, 17] // A = 42 (shown first), B = 17

describe('pairwise scale', () => {
  it.each([
    [1, { chosen: 42, strength: 3 }],
    [2, { chosen: 42, strength: 2 }],
    [3, { chosen: 42, strength: 1 }],
    [4, { tie: true }],
    [5, { chosen: 17, strength: 1 }],
    [6, { chosen: 17, strength: 2 }],
    [7, { chosen: 17, strength: 3 }],
  ])('maps point %i to %o with A as the first response shown', (point, payload) => {
    expect(pointToChoice(point as ScalePoint, SHOWN)).toEqual(payload)
  })

  it('follows the shown order, not the id order', () => {
    expect(pointToChoice(1, [17, 42])).toEqual({ chosen: 17, strength: 3 })
  })

  it('round-trips every point through the stored form', () => {
    for (const point of [1, 2, 3, 4, 5, 6, 7] as ScalePoint[]) {
      expect(choiceToPoint(pointToChoice(point, SHOWN), SHOWN)).toBe(point)
    }
  })

  it('ignores key 4 and drops the middle when ties are not allowed', () => {
    expect(pointForKey('4', false)).toBeNull()
    expect(pointForKey('4', true)).toBe(4)
    expect(scaleOptions(false).map((o) => o.point)).toEqual([1, 2, 3, 5, 6, 7])
    expect(scaleOptions(true)).toHaveLength(7)
  })

  it('ignores keys off the scale', () => {
    expect(pointForKey('0', true)).toBeNull()
    expect(pointForKey('8', true)).toBeNull()
    expect(pointForKey('a', true)).toBeNull()
  })

  it('refuses anything but two responses', () => {
    expect(() => pointToChoice(1, [1, 2, 3])).toThrow()
  })
})
