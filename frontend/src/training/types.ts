// Shapes of the training API (docs/TRAINING_API.md).
import type { CurationRules, SnapshotCounts } from '../lib/types'

export type JobStatus = 'queued' | 'running' | 'succeeded' | 'failed' | 'cancelled'
export const JOB_STATUSES: JobStatus[] = ['queued', 'running', 'succeeded', 'failed', 'cancelled']
export const isActive = (status: JobStatus) => status === 'queued' || status === 'running'

export type ModelKind = 'base' | 'policy' | 'reward'
export type ModelTask = 'causal-lm' | 'sequence-classification'

/** One JSON-schema property of a kind's config. */
export interface SchemaProperty {
  type?: string | string[]
  anyOf?: { type?: string; enum?: unknown[] }[]
  enum?: unknown[]
  default?: unknown
  description?: string
  title?: string
  minimum?: number
  maximum?: number
  exclusiveMinimum?: number
  exclusiveMaximum?: number
}

export interface ConfigSchema {
  type?: 'object'
  additionalProperties?: boolean
  properties: Record<string, SchemaProperty>
  required?: string[]
}

export interface TrainingKind {
  kind: string
  label: string
  description: string
  snapshot_format: string
  /** The kind of model a job registers; empty when it registers none (evaluate). */
  output_kind?: string
  base_model_kinds: string[]
  base_model_tasks: string[]
  reference_model: boolean
  /** The kind needs a reward model. */
  reward_model: boolean
  /** The kind takes a reward model if given one (DPO: for the checkpoint evaluations only). */
  reward_model_optional?: boolean
  /** Whether a job of this kind reads a snapshot; absent: required. */
  snapshot?: 'required' | 'optional' | 'none'
  /** Whether it starts from a base model; absent: it does. */
  base_model?: boolean
  schema: ConfigSchema
}

export interface ModelRef {
  id: number
  name: string
  kind: string
  task?: string
}

export interface JobSnapshot {
  id: number
  project: number
  project_name: string
  fingerprint: string | null
  rules: Partial<CurationRules>
  counts: SnapshotCounts | null
}

export interface JobProgress {
  step: number
  max_steps: number | null
  fraction: number | null
  eta_seconds: number | null
}

export interface Message {
  role: string
  content: string
}

/** A job's sample; its shape depends on the kind (a completion, a reference, candidates, a revision, scores). */
export interface Sample {
  prompt?: Message[] | string
  completion?: string
  [extra: string]: unknown
}

export interface Job {
  id: number
  kind: string
  status: JobStatus
  /** Null for kinds that read no snapshot. */
  snapshot: JobSnapshot | null
  base_model: ModelRef | null
  reference_model: ModelRef | null
  reward_model: ModelRef | null
  output_model: ModelRef | null
  config: Record<string, unknown>
  progress: JobProgress | null
  latest_metrics: Record<string, number | null> | null
  evaluation: Record<string, unknown> | null
  /** The trainer's end-of-run figures (runtime, ...). */
  summary?: Record<string, unknown>
  samples: Sample[]
  artifacts: { name: string; bytes: number }[]
  attempts: number
  max_attempts: number
  worker_host: string | null
  heartbeat_at: string | null
  error: string
  created_by: string | null
  cancelled_by: string | null
  created_at: string
  started_at: string | null
  finished_at: string | null
  cancel_requested_at: string | null
  can_cancel: boolean
  can_retry: boolean
}

export interface MetricRow {
  step: number
  time?: string
  values: Record<string, number | null>
}

export interface MetricsPage {
  results: MetricRow[]
  last_step: number | null
}

export interface Lineage {
  job: { id: number; kind: string; status: JobStatus } | null
  snapshot: { id: number; fingerprint: string | null; rules: Partial<CurationRules> } | null
  project: { id: number; name: string } | null
}

export interface TrainedModel {
  id: number
  name: string
  kind: string
  task: string
  architecture: string
  parameter_count: number | null
  files: { name: string; bytes: number }[]
  job: number | null
  parent: number | null
  source: 'trained' | 'registered' | 'builtin'
  created_at: string
  lineage: Lineage | null
}

export interface Page<T> {
  count: number
  next: string | null
  previous: string | null
  results: T[]
}
