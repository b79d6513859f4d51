// What each agreement figure measures, in one line, and the usual reading of its value, with whose scale it is.

export interface Scale {
  measure: string
  source: string
  /** Upper bounds (exclusive) and their words, lowest first; the last applies to everything above. */
  bands: [number, string][]
  top: string
}

/** Landis & Koch (1977), the usual reading of Cohen's and Fleiss' κ. */
export const LANDIS_KOCH: Scale = {
  measure: 'κ',
  source: 'Landis & Koch, 1977',
  bands: [[0, 'worse than chance'], [0.2, 'slight'], [0.4, 'fair'], [0.6, 'moderate'], [0.8, 'substantial']],
  top: 'almost perfect',
}

/** Krippendorff (2004): α ≥ 0.8 to rely on the data, ≥ 0.667 for tentative conclusions only. */
export const KRIPPENDORFF: Scale = {
  measure: 'α',
  source: 'Krippendorff, 2004',
  bands: [[0, 'worse than chance'], [0.667, 'unreliable'], [0.8, 'tentative only']],
  top: 'reliable',
}

/** Schmidt (1997) for Kendall's W. */
export const SCHMIDT: Scale = {
  measure: "Kendall's W",
  source: 'Schmidt, 1997',
  bands: [[0.1, 'very weak'], [0.3, 'weak'], [0.5, 'moderate'], [0.7, 'strong'], [0.9, 'very strong']],
  top: 'unusually strong',
}

/** The word for a value on a scale, e.g. 0.45 → "moderate"; null for a missing value. */
export function reading(scale: Scale, value: number | null | undefined): string | null {
  if (value == null || !Number.isFinite(value)) return null
  for (const [below, word] of scale.bands) if (value < below) return word
  return scale.top
}

/** The whole scale as one line, e.g. "<0 worse than chance · 0–0.2 slight · … · >0.8 almost perfect (Landis & Koch, 1977)". */
export function scaleLine(scale: Scale): string {
  const parts: string[] = []
  let from: number | null = null
  for (const [below, word] of scale.bands) {
    parts.push(from === null ? `<${below} ${word}` : `${from}–${below} ${word}`)
    from = below
  }
  parts.push(`≥${from} ${scale.top}`)
  return `${parts.join(' · ')} (${scale.source})`
}

export interface Explanation {
  what: string
  scale?: Scale
}

export const EXPLANATIONS: Record<string, Explanation> = {
  'Percent agreement': { what: 'Share of answer pairs on the same item that pick the same side (a tie is a side). 1 = all agree; not corrected for chance.' },
  'Agreement, ties excluded': { what: 'The same, over the answer pairs where neither answer is a tie.' },
  'Leave-one-out agreement': { what: 'How often an answer matches the majority of the other answers on its item.' },
  'Fleiss κ': { what: 'Agreement beyond what chance would give, over all annotators: 1 perfect, 0 chance, below 0 worse than chance.', scale: LANDIS_KOCH },
  "Kendall's W (mean per item)": { what: 'How alike the rankings of one item are (0 unrelated, 1 identical), averaged over items.', scale: SCHMIDT },
  'Krippendorff α (nominal)': { what: 'Agreement beyond chance with answers as categories; missing answers allowed.', scale: KRIPPENDORFF },
  'Krippendorff α (ordinal)': { what: 'Agreement beyond chance where nearby answers disagree less than distant ones (by rank).', scale: KRIPPENDORFF },
  'Krippendorff α (interval)': { what: 'Agreement beyond chance weighing disagreements by the squared distance on the scale.', scale: KRIPPENDORFF },
  'Krippendorff α (ratio)': { what: 'Agreement beyond chance for values with a true zero.', scale: KRIPPENDORFF },
}
