// Shapes of "Closing the loop" in docs/TRAINING_API.md: generated rounds, the AI annotator,
// constitutions, model strengths and a project's lineage.

/** `POST /api/training-jobs/preview/`: what a generate job would create, without launching it. */
export interface RoundPreview {
  prompts: number
  items: number
  responses: number
  /** The server's resolved values, when it sends them. */
  target_project?: number
  candidates_per_prompt?: number
}

export interface Principle {
  critique: string
  revision: string
}

export interface Constitution {
  id: number
  name: string
  principles: Principle[]
  created_by?: string | null
  created_at?: string
}

/** The contract does not say what `model` is; the server sends the responses' model name. An id or a reference is read too. */
export type StrengthModel = number | string | { id: number; name?: string }

export interface ModelStrength {
  model: StrengthModel
  strength: number
  ci_low: number | null
  ci_high: number | null
  wins: number
  losses: number
  ties: number
  comparisons: number
}

export interface ModelStrengths {
  models: ModelStrength[]
}

export type LineageNodeType = 'snapshot' | 'job' | 'model' | 'round'

export interface LineageNode {
  /** `<type>:<id>`, e.g. `snapshot:3`. */
  id: string
  type: LineageNodeType | string
  label: string
  status?: string
  /** A job's or a model's kind (the server adds it). */
  kind?: string
  /** The project a round's items went to (the server adds it to rounds). */
  project?: number
  /** Not in the contract; used when the server sends it. */
  href?: string
}

export interface LineageEdge {
  from: string
  to: string
  label?: string
}

export interface ProjectLineage {
  nodes: LineageNode[]
  edges: LineageEdge[]
}
