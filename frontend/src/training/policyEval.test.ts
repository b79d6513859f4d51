import { describe, expect, it } from 'vitest'
import { appendMetrics, EMPTY_SERIES } from './metrics'
import { checkpointEvals, evaluatesAtCheckpoints, hasReference, policySummary, rewardKlColumns, sampleRewards, warningsOf } from './policyEval'

describe('policySummary', () => {
  it('reads a PPO job’s policy_vs_reference, whose rewards are called scores, and its final beta', () => {
    const summary = policySummary({
      kind: 'ppo',
      evaluation: {
        policy_vs_reference: { win_rate: 0.625, mean_score: 1.5, reference_mean_score: 0.25, mean_kl: 3.2, mean_length: 7.5, prompts: 8 },
        final_beta: 0.07,
        warnings: [],
      },
    })
    expect(summary).toEqual({
      prompts: 8, winRate: 0.625, meanReward: 1.5, referenceMeanReward: 0.25, meanKl: 3.2, meanLength: 7.5,
      endedFraction: null, rewardLengthCorrelation: null, bestOfN: null, finalBeta: 0.07,
    })
  })

  it('reads an evaluate job’s figures and its best-of-n baseline', () => {
    const summary = policySummary({
      kind: 'evaluate',
      evaluation: {
        prompts: 6, win_rate: 0.5, mean_reward: 0.2, reference_mean_reward: 0.1, mean_kl: 1.25, mean_length: 6, ended_fraction: 0.5,
        reward_length_correlation: -0.3, best_of_n: { n: 3, mean_reward: 0.4, kl: 0.4319, policy_win_rate: 0.25 },
      },
    })
    expect(summary).toMatchObject({ winRate: 0.5, meanReward: 0.2, referenceMeanReward: 0.1, rewardLengthCorrelation: -0.3, endedFraction: 0.5, finalBeta: null })
    expect(summary?.bestOfN).toEqual({ n: 3, meanReward: 0.4, kl: 0.4319, policyWinRate: 0.25 })
  })

  it('is null for a job with no policy-vs-reference figures', () => {
    expect(policySummary({ kind: 'dpo', evaluation: { eval_loss: 0.6 } })).toBeNull()
    expect(policySummary({ kind: 'ppo', evaluation: null })).toBeNull()
    expect(policySummary({ kind: 'evaluate', evaluation: {} })).toBeNull()
  })
})

describe('warningsOf', () => {
  it('tells an empty list of warnings (checked, nothing found) from no check at all', () => {
    expect(warningsOf({ warnings: [] })).toEqual([])
    expect(warningsOf({ eval_loss: 1 })).toBeNull()
    expect(warningsOf(null)).toBeNull()
    expect(warningsOf({ warnings: [{ kind: 'kl', message: 'KL rose from 0.10 to 9.00' }, 'free text'] })).toEqual([
      { kind: 'kl', message: 'KL rose from 0.10 to 9.00' },
      { kind: '', message: 'free text' },
    ])
  })
})

describe('checkpointEvals', () => {
  it('takes the steps that logged both KL and reward, and orders the chart’s columns by KL', () => {
    const series = appendMetrics(EMPTY_SERIES, [
      { step: 1, values: { 'objective/kl': 0.1 } },
      { step: 3, values: { 'objective/kl': 0.2, 'eval/mean_kl': 2.5, 'eval/mean_reward': 0.4, 'eval/win_rate': 0.75, 'eval/mean_length': 8 } },
      { step: 4, values: { 'eval/mean_kl': 9 } },
      { step: 6, values: { 'eval/mean_kl': 1.5, 'eval/mean_reward': 0.9 } },
    ])
    const points = checkpointEvals(series)
    expect(points).toEqual([
      { step: 3, kl: 2.5, reward: 0.4, winRate: 0.75, length: 8 },
      { step: 6, kl: 1.5, reward: 0.9, winRate: null, length: null },
    ])
    expect(rewardKlColumns(points)).toEqual([[1.5, 2.5], [0.9, 0.4]])
    expect(checkpointEvals(appendMetrics(EMPTY_SERIES, [{ step: 1, values: { loss: 1 } }]))).toEqual([])
    expect(checkpointEvals(undefined)).toEqual([])
  })
})

describe('samples and kinds', () => {
  it('reads the rewards under either job’s names and knows which kinds evaluate at checkpoints', () => {
    expect(sampleRewards({ prompt: 'p', completion: 'a', reference: 'b', policy_reward: 1, reference_reward: -1 })).toEqual({ policy: 1, reference: -1 })
    expect(sampleRewards({ prompt: 'p', completion: 'a', reference: 'b', policy_score: 2 })).toEqual({ policy: 2, reference: null })
    expect(hasReference([{ prompt: 'p', completion: 'a' }])).toBe(false)
    expect(hasReference([{ prompt: 'p', completion: 'a', reference: '' }])).toBe(true)
    expect(evaluatesAtCheckpoints({ kind: 'grpo', reward_model: null })).toBe(true)
    expect(evaluatesAtCheckpoints({ kind: 'dpo', reward_model: null })).toBe(false)
    expect(evaluatesAtCheckpoints({ kind: 'dpo', reward_model: { id: 3, name: 'rm', kind: 'reward' } })).toBe(true)
  })
})
