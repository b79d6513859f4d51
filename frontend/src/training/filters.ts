// Which snapshots and models a kind of job can use: what the new-job pickers offer.
import type { Snapshot } from '../lib/types'
import type { TrainedModel, TrainingKind } from './types'

/** Rows of one format in a snapshot, per split, read from its file names (`preference-train.jsonl`). */
export function formatRows(snapshot: Pick<Snapshot, 'files'>, format: string): Record<string, number> {
  const bySplit: Record<string, number> = {}
  for (const file of snapshot.files ?? []) {
    // Parquet files repeat the JSONL rows; count each split once.
    const match = /^(.+)-([^-.]+)\.jsonl$/.exec(file.name)
    if (!match || match[1] !== format) continue
    bySplit[match[2]] = (bySplit[match[2]] ?? 0) + (file.rows ?? 0)
  }
  return bySplit
}

export function totalRows(bySplit: Record<string, number>): number {
  return Object.values(bySplit).reduce((a, b) => a + b, 0)
}

/** Ready snapshots whose training split holds rows of the kind's format (what the server checks at launch). */
export function snapshotsForKind<S extends Pick<Snapshot, 'state' | 'files'>>(snapshots: S[], kind: Pick<TrainingKind, 'snapshot_format'>): S[] {
  return snapshots.filter((s) => s.state === 'ready' && (formatRows(s, kind.snapshot_format).train ?? 0) > 0)
}

/** Models a kind may start from (and take as its reference model): kind and task both listed. */
export function baseModelsForKind(models: TrainedModel[], kind: Pick<TrainingKind, 'base_model_kinds' | 'base_model_tasks'>): TrainedModel[] {
  return models.filter((m) => kind.base_model_kinds.includes(m.kind) && kind.base_model_tasks.includes(m.task))
}

/** Models that can score completions: reward models with a classification head. */
export function rewardModels(models: TrainedModel[]): TrainedModel[] {
  return models.filter((m) => m.kind === 'reward' && m.task === 'sequence-classification')
}
