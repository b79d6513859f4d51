// A policy measured against its reference (docs/TRAINING_API.md, "PPO, online RL and evaluation"):
// the warnings about reward hacking, the figures of a PPO job and of an evaluate job read as one
// summary, the checkpoint evaluations that draw reward against KL, and the rewards of a sample.
import type { MetricSeries } from './metrics'
import type { Job, Sample } from './types'

/** Kinds that train a policy against a reward model online, and so may hack it. */
export const ONLINE_KINDS = ['ppo', 'rloo', 'grpo']

export interface HackingWarning {
  kind: string
  message: string
}

const num = (v: unknown): number | null => (typeof v === 'number' && Number.isFinite(v) ? v : null)
const obj = (v: unknown): Record<string, unknown> | null => (v && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : null)

/** The evaluation's warnings; null when it recorded no check at all (no evaluation yet, or a kind that does not check). */
export function warningsOf(evaluation: Job['evaluation']): HackingWarning[] | null {
  const list = evaluation?.warnings
  if (!Array.isArray(list)) return null
  return list.flatMap((w) => {
    const o = obj(w)
    if (!o) return typeof w === 'string' ? [{ kind: '', message: w }] : []
    return [{ kind: typeof o.kind === 'string' ? o.kind : '', message: typeof o.message === 'string' ? o.message : JSON.stringify(o) }]
  })
}

/** What each warning kind is about, as a short tag. */
export const WARNING_LABELS: Record<string, string> = {
  kl: 'KL',
  win_rate: 'win rate',
  length: 'length',
  no_eos: 'no end',
}

export interface BestOfN {
  n: number | null
  meanReward: number | null
  kl: number | null
  policyWinRate: number | null
}

/** The policy-vs-reference figures, whichever job wrote them; null where that job does not measure one. */
export interface PolicySummary {
  prompts: number | null
  winRate: number | null
  meanReward: number | null
  referenceMeanReward: number | null
  meanKl: number | null
  meanLength: number | null
  endedFraction: number | null
  rewardLengthCorrelation: number | null
  bestOfN: BestOfN | null
  finalBeta: number | null
}

/**
 * A PPO job's `evaluation.policy_vs_reference` (scores named `mean_score`) or an evaluate job's
 * `evaluation` (named `mean_reward`) as one summary; null when the job holds neither.
 */
export function policySummary(job: Pick<Job, 'kind' | 'evaluation'>): PolicySummary | null {
  const evaluation = obj(job.evaluation)
  if (!evaluation) return null
  const nested = obj(evaluation.policy_vs_reference)
  const figures = nested ?? (job.kind === 'evaluate' || 'reference_mean_reward' in evaluation ? evaluation : null)
  if (!figures || Object.keys(figures).length === 0) return null
  const best = obj(figures.best_of_n)
  return {
    prompts: num(figures.prompts),
    winRate: num(figures.win_rate),
    meanReward: num(figures.mean_reward ?? figures.mean_score),
    referenceMeanReward: num(figures.reference_mean_reward ?? figures.reference_mean_score),
    meanKl: num(figures.mean_kl),
    meanLength: num(figures.mean_length),
    endedFraction: num(figures.ended_fraction),
    rewardLengthCorrelation: num(figures.reward_length_correlation),
    bestOfN: best ? { n: num(best.n), meanReward: num(best.mean_reward), kl: num(best.kl), policyWinRate: num(best.policy_win_rate) } : null,
    finalBeta: num(evaluation.final_beta),
  }
}

export interface CheckpointEval {
  step: number
  kl: number
  reward: number
  winRate: number | null
  length: number | null
}

export const EVAL_KL = 'eval/mean_kl'
export const EVAL_REWARD = 'eval/mean_reward'

/** The steps that logged both a checkpoint KL and reward (the points of reward against KL), in step order. */
export function checkpointEvals(series: MetricSeries | undefined): CheckpointEval[] {
  if (!series) return []
  const kl = series.values[EVAL_KL]
  const reward = series.values[EVAL_REWARD]
  if (!kl || !reward) return []
  const win = series.values['eval/win_rate'] ?? []
  const length = series.values['eval/mean_length'] ?? []
  const out: CheckpointEval[] = []
  series.steps.forEach((step, i) => {
    if (kl[i] == null || reward[i] == null) return
    out.push({ step, kl: kl[i]!, reward: reward[i]!, winRate: win[i] ?? null, length: length[i] ?? null })
  })
  return out
}

/** [KL, reward] columns for a chart, by increasing KL (uPlot wants its x values sorted); equal KL keeps step order. */
export function rewardKlColumns(points: CheckpointEval[]): [number[], number[]] {
  const sorted = [...points].sort((a, b) => a.kl - b.kl || a.step - b.step)
  return [sorted.map((p) => p.kl), sorted.map((p) => p.reward)]
}

/** A sample's reward for the policy's and the reference's completion, under either job's names. */
export function sampleRewards(sample: Sample): { policy: number | null; reference: number | null } {
  return {
    policy: num(sample.policy_reward ?? sample.policy_score),
    reference: num(sample.reference_reward ?? sample.reference_score),
  }
}

/** Samples that hold a reference completion are shown side by side. */
export function hasReference(samples: Sample[] | undefined): boolean {
  return Boolean(samples?.some((s) => typeof s.reference === 'string'))
}

/** Does this job evaluate at its checkpoints (so its page draws reward against KL)? */
export function evaluatesAtCheckpoints(job: Pick<Job, 'kind' | 'reward_model'>): boolean {
  return ONLINE_KINDS.includes(job.kind) || (job.kind === 'dpo' && job.reward_model !== null)
}
