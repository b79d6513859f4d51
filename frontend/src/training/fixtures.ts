// Test data in the shapes of docs/TRAINING_API.md.
import type { Snapshot } from '../lib/types'
import type { SnapshotWithProject } from './queries'
import type { Job, TrainedModel, TrainingKind } from './types'

export const DPO: TrainingKind = {
  kind: 'dpo', label: 'DPO', description: 'Direct preference optimisation (TRL DPOTrainer)', snapshot_format: 'preference',
  base_model_kinds: ['base', 'policy'], base_model_tasks: ['causal-lm'], reference_model: true, reward_model: false,
  schema: { type: 'object', additionalProperties: false, properties: {
    beta: { type: 'number', default: 0.1, exclusiveMinimum: 0, description: 'Strength of the KL penalty.' },
    max_steps: { type: 'integer', default: 60, minimum: -1, description: 'Optimizer steps.' },
    use_peft: { type: 'boolean', default: false, description: 'LoRA adapters only.' },
  } },
}

export const SFT: TrainingKind = {
  ...DPO, kind: 'sft', label: 'Supervised fine-tuning', description: 'TRL SFTTrainer', snapshot_format: 'sft', reference_model: false,
  schema: { properties: { learning_rate: { type: 'number', default: 2e-5, description: 'Peak learning rate.' } } },
}

export const REWARD: TrainingKind = {
  ...DPO, kind: 'reward', label: 'Reward model', description: 'Bradley-Terry', base_model_kinds: ['base', 'policy', 'reward'],
  base_model_tasks: ['sequence-classification', 'causal-lm'], reference_model: false, schema: { properties: {} },
}

export const PPO: TrainingKind = { ...DPO, kind: 'ppo', label: 'PPO', snapshot_format: 'prompts', reference_model: true, reward_model: true }

export const DPO_WITH_RM: TrainingKind = { ...DPO, reward_model_optional: true, output_kind: 'policy' }

export const EVALUATE: TrainingKind = {
  ...DPO, kind: 'evaluate', label: 'Evaluate', description: 'A policy against its reference under a reward model.', snapshot_format: 'prompts',
  output_kind: '', reference_model: true, reward_model: true,
  schema: { properties: { num_prompts: { type: 'integer', default: 64, minimum: 1, description: 'Held-out prompts.' } } },
}

const file = (name: string, rows: number) => ({ name, rows, sha256: 'ab'.repeat(32), bytes: 100 * rows, url: `/files/${name}` })

export function snapshot(id: number, extra: Partial<Snapshot> = {}): Snapshot {
  return {
    id, project: 1, state: 'ready', rules: {}, options: { parquet: false }, test_fraction: 0.1, seed: 0, counts: {}, files: [],
    fingerprint: `${id}`.padStart(64, 'f'), library_version: '', error: '', created_by: 'lead', created_at: '2026-01-01T00:00:00Z', finished_at: null,
    ...extra,
  }
}

export const PAIRS = snapshot(3, { files: [file('preference-train.jsonl', 40), file('preference-test.jsonl', 5), file('preference-train.parquet', 40), file('prompts-train.jsonl', 45)] })
export const DEMOS = snapshot(4, { project: 2, files: [file('sft-train.jsonl', 30), file('prompts-train.jsonl', 30)] })
export const EMPTY_PAIRS = snapshot(5, { files: [file('preference-train.jsonl', 0), file('prompts-train.jsonl', 3)] })
export const BUILDING = snapshot(6, { state: 'building', files: [] })
export const TEST_ONLY = snapshot(8, { files: [file('preference-train.jsonl', 0), file('preference-test.jsonl', 4)] })
export const FAILED_PAIRS = snapshot(7, { state: 'failed', files: [file('preference-train.jsonl', 10)] })

export const withProject = (s: Snapshot, projectName: string): SnapshotWithProject => ({ ...s, projectName })

export function model(id: number, name: string, kind: string, task: string, extra: Partial<TrainedModel> = {}): TrainedModel {
  return {
    id, name, kind, task, architecture: 'GPT2LMHeadModel', parameter_count: 124_439_808, files: [], job: null, parent: null,
    source: 'builtin', created_at: '2026-01-01T00:00:00Z', lineage: null, ...extra,
  }
}

export const TINY_GPT = model(1, 'tiny-gpt2', 'base', 'causal-lm')
export const SFT_MODEL = model(2, 'sft-9', 'policy', 'causal-lm', { source: 'trained', job: 9, parent: 1 })
export const RM = model(3, 'rm-10', 'reward', 'sequence-classification', { architecture: 'GPT2ForSequenceClassification', source: 'trained', job: 10, parent: 1 })
export const BASE_CLS = model(4, 'tiny-cls', 'base', 'sequence-classification')
export const MODELS = [TINY_GPT, SFT_MODEL, RM, BASE_CLS]

export function job(id: number, extra: Partial<Job> = {}): Job {
  return {
    id, kind: 'dpo', status: 'running',
    snapshot: { id: 3, project: 1, project_name: 'Demo: pairwise', fingerprint: 'ab'.repeat(32), rules: { exclude_flagged: true }, counts: { pairs: 45 } },
    base_model: { id: 2, name: 'sft-9', kind: 'policy' }, reference_model: null, reward_model: null, output_model: null,
    config: { beta: 0.1, max_steps: 20 }, progress: { step: 7, max_steps: 20, fraction: 0.35, eta_seconds: 12.5 },
    latest_metrics: { loss: 0.68 }, evaluation: null, samples: [], artifacts: [], attempts: 1, max_attempts: 3, worker_host: 'gpu-1',
    heartbeat_at: '2026-01-01T00:00:05Z', error: '', created_by: 'admin', cancelled_by: null, created_at: '2026-01-01T00:00:00Z',
    started_at: '2026-01-01T00:00:01Z', finished_at: null, cancel_requested_at: null, can_cancel: true, can_retry: false,
    ...extra,
  }
}
