export type Kind = 'pairwise' | 'ranking' | 'demonstration'
export type Role = 'annotator' | 'lead' | 'admin'

export interface Me {
  id: number
  username: string
  is_staff: boolean
  projects: { id: number; name: string; role: Role }[]
}

export interface Project {
  id: number
  name: string
  kind: Kind
  guidelines: string
  annotations_per_item: number
  ranking_size: number | null
  allow_tie: boolean
  criteria: string[]
  gold_ratio: number
  lease_seconds: number
  role: Role | null
  created_at: string
  my_progress?: { done: number; skipped: number; remaining: number }
}

export interface Turn {
  role: string
  content: string
}

export interface ResponseText {
  id: number
  text: string
}

export interface Item {
  id: number
  conversation: Turn[]
  responses: ResponseText[]
}

export interface NextAssignment {
  assignment: number
  expires_at: string
  item: Item
}

export type PairwiseChoice = { chosen: number; strength: 1 | 2 | 3 } | { tie: true }

export type AnswerPayload = Record<string, unknown>

export interface Progress {
  items: { total: number; open: number; in_progress: number; complete: number }
  annotations: number
  annotators: {
    username: string
    done: number
    skipped: number
    in_progress: number
    median_seconds: number | null
    gold_answered: number
    gold_accuracy: number | null
  }[]
}

export interface Agreement {
  n_items?: number
  n_annotations?: number
  percent_agreement?: { with_ties?: number | null; without_ties?: number | null }
  leave_one_out_agreement?: number | null
  cohen_kappa?: { annotators: (string | number)[]; kappa: number | null; n_items: number }[]
  fleiss_kappa?: number | null
  krippendorff_alpha?: { nominal?: number | null; ordinal?: number | null; interval?: number | null; ratio?: number | null }
  confidence_intervals?: Record<string, [number, number]>
  annotators?: (string | Record<string, unknown>)[]
  items?: unknown
  item_agreement?: unknown
  per_item?: unknown
}
