import { describe, expect, it } from 'vitest'
import { KRIPPENDORFF, LANDIS_KOCH, reading, scaleLine, SCHMIDT } from './figureReadings'

describe('figure readings', () => {
  it('reads κ on the Landis & Koch scale', () => {
    expect(reading(LANDIS_KOCH, -0.1)).toBe('worse than chance')
    expect(reading(LANDIS_KOCH, 0.1)).toBe('slight')
    expect(reading(LANDIS_KOCH, 0.4)).toBe('moderate')
    expect(reading(LANDIS_KOCH, 0.45)).toBe('moderate')
    expect(reading(LANDIS_KOCH, 0.79)).toBe('substantial')
    expect(reading(LANDIS_KOCH, 0.95)).toBe('almost perfect')
    expect(reading(LANDIS_KOCH, null)).toBeNull()
    expect(reading(LANDIS_KOCH, Number.NaN)).toBeNull()
  })

  it('reads α and W on their own authors’ scales', () => {
    expect(reading(KRIPPENDORFF, 0.7)).toBe('tentative only')
    expect(reading(KRIPPENDORFF, 0.85)).toBe('reliable')
    expect(reading(SCHMIDT, 0.55)).toBe('strong')
  })

  it('writes the whole scale on one line, naming whose it is', () => {
    expect(scaleLine(LANDIS_KOCH)).toBe(
      '<0 worse than chance · 0–0.2 slight · 0.2–0.4 fair · 0.4–0.6 moderate · 0.6–0.8 substantial · ≥0.8 almost perfect (Landis & Koch, 1977)',
    )
  })
})
