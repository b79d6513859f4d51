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
  min_demonstration_chars?: number // 0: no minimum
  gold_feedback?: boolean // tell an annotator after a gold answer is stored whether it matched
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

export interface Progress {
  items: { total: number; open: number; in_progress: number; complete: number; needs_annotators?: number; adjudicated?: number }
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

/** A project's curation rules as the API stores them; a null number is a rule that is off. */
export interface CurationRules {
  min_answers_per_item: number | null
  min_item_agreement: number | null
  min_annotator_reliability: number | null
  min_gold_accuracy: number | null
  exclude_flagged: boolean
  exclude_both_bad: boolean
  ties: 'drop' | 'keep'
  min_abs_strength: number | null
  consensus: 'majority' | 'dawid_skene'
  model_annotators: 'include' | 'exclude'
  adjudication: 'use' | 'ignore'
}

export interface CurationStep {
  rule: string
  active: boolean
  removed_answers: number
  removed_items: number
  remaining_answers: number
  remaining_items: number
}

export interface CurationRemaining {
  answers: number
  items: number
  consensus: { first: number; tie: number; second: number }
}

/** `POST /curation/preview/`; `initial` is null where curation does not apply (demonstrations). */
export interface CurationPreview {
  initial: { answers: number; items: number } | null
  preview: CurationStep[]
  remaining: CurationRemaining | null
}

export type SnapshotState = 'pending' | 'building' | 'ready' | 'failed'

export interface SnapshotFile {
  name: string
  rows: number
  sha256: string
  bytes: number
  url: string
}

export interface SplitCounts {
  prompts: number
  items: number
  answers: number
  pairs: number
}

export interface SnapshotCounts {
  items?: number
  answers?: number
  pairs?: number
  skipped_ties?: number
  adjudicated?: number
  prompts?: number
  raw_answers?: number
  splits?: Record<string, SplitCounts>
  curation?: { initial: { answers: number; items: number }; steps: CurationStep[]; remaining: CurationRemaining } | null
}

export interface Snapshot {
  id: number
  project: number
  state: SnapshotState
  rules: Partial<CurationRules>
  options: { parquet?: boolean; ranking_pairs?: 'all' | 'best_vs_rest' }
  test_fraction: number
  seed: number
  counts: SnapshotCounts | null
  files: SnapshotFile[]
  fingerprint: string | null
  library_version: string
  error: string
  created_by: string | null
  created_at: string
  finished_at: string | null
}
