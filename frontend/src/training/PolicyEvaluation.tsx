// The job page's view of a policy against its reference: the warnings about reward hacking, the
// reward-against-KL curve of the checkpoint evaluations (live while the job runs), the summary of a
// finished PPO or evaluate job, and its samples side by side with the reference's.
import { useMemo } from 'react'
import { Conversation } from '../annotate/Conversation'
import { Markdown } from '../components/Markdown'
import { formatTick } from './format'
import { LineChart } from './LineChart'
import { promptTurns, SampleList } from './Samples'
import type { MetricSeries } from './metrics'
import { checkpointEvals, EVAL_KL, EVAL_REWARD, ONLINE_KINDS, rewardKlColumns, sampleRewards, WARNING_LABELS, warningsOf, type PolicySummary } from './policyEval'
import { isActive, type Job, type Sample } from './types'

export const formatPercent = (v: number | null | undefined) => (v == null ? '—' : `${Number((v * 100).toFixed(1))}%`)
const fig = (v: number | null | undefined) => (v == null ? '—' : formatTick(v))

/** Shown for every online RL job, and for any job whose evaluation carries warnings. */
export function HackingWarnings({ job }: { job: Job }) {
  const warnings = warningsOf(job.evaluation)
  if (!ONLINE_KINDS.includes(job.kind) && !warnings?.length) return null
  if (warnings?.length) {
    return (
      <section className="card card-warn" aria-labelledby="job-warnings" data-testid="hacking-warnings" data-count={warnings.length}>
        <h2 id="job-warnings">
          <span aria-hidden="true">⚠ </span>
          {warnings.length === 1 ? 'One sign' : `${warnings.length} signs`} of reward hacking
        </h2>
        <ul className="warning-list">
          {warnings.map((w, i) => (
            <li key={i} data-kind={w.kind}>
              {w.kind && <span className="tag tag-warning">{WARNING_LABELS[w.kind] ?? w.kind}</span>}
              <span>{w.message}</span>
            </li>
          ))}
        </ul>
        <p className="small muted">Read the samples below before trusting this policy’s reward.</p>
      </section>
    )
  }
  const note = warnings
    ? 'No warnings: KL to the reference stayed within its bound, the held-out win rate did not lag the training score, the score did not rise with length alone, and responses still end.'
    : isActive(job.status)
      ? 'Checked for reward hacking when the job finishes.'
      : job.status === 'succeeded'
        ? 'No reward-hacking checks were recorded for this job.'
        : 'Not checked for reward hacking: the job did not finish.'
  return (
    <p className={`banner ${warnings ? 'banner-ok' : 'banner-info'}`} data-testid="hacking-warnings" data-count={warnings ? 0 : undefined}>
      {note}
    </p>
  )
}

/** The checkpoint evaluations as points of reward (y) against KL (x), with the numbers in a table. */
export function RewardAgainstKl({ job, series, loading }: { job: Job; series: MetricSeries | undefined; loading: boolean }) {
  const points = useMemo(() => checkpointEvals(series), [series])
  const data = useMemo(() => rewardKlColumns(points), [points])
  const chartSeries = useMemo(() => [{ label: EVAL_REWARD, scatter: true }], [])
  const live = isActive(job.status)
  const summary = points.length
    ? `Mean reward against mean KL at ${points.length} checkpoints: ${points.map((p) => `step ${p.step}, KL ${fig(p.kl)}, reward ${fig(p.reward)}`).join('; ')}`
    : 'No checkpoint evaluation yet'
  return (
    <section className="card" aria-labelledby="job-reward-kl" data-testid="reward-kl" data-points={points.length}>
      <h2 id="job-reward-kl">Reward against KL</h2>
      <p className="small muted">
        At each checkpoint a few held-out prompts are answered and scored by the reward model; KL to the reference is in nats per response. A policy that gains reward only by drifting far
        from the reference moves right, not up.
      </p>
      {points.length > 0 ? (
        <>
          <LineChart title={`${EVAL_REWARD} against ${EVAL_KL}`} data={data} series={chartSeries} summary={summary} height={220} xLabel={EVAL_KL} wholeX={false} />
          <div className="table-wrap checkpoint-table">
            <table className="table table-compact" data-testid="checkpoint-evals">
              <thead>
                <tr>
                  <th className="num">Step</th>
                  <th className="num">KL</th>
                  <th className="num">Reward</th>
                  <th className="num">Win rate</th>
                  <th className="num">Length</th>
                </tr>
              </thead>
              <tbody>
                {points.map((p) => (
                  <tr key={p.step} data-step={p.step}>
                    <td className="num">{p.step}</td>
                    <td className="num">{fig(p.kl)}</td>
                    <td className="num">{fig(p.reward)}</td>
                    <td className="num">{formatPercent(p.winRate)}</td>
                    <td className="num">{fig(p.length)}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        </>
      ) : (
        <p className="muted small">
          {loading ? 'Loading…' : live ? 'The first point comes with the first checkpoint (every save_steps steps).' : job.kind === 'dpo' || job.reward_model ? 'No checkpoint was evaluated.' : 'This job has no reward model to evaluate its checkpoints with.'}
        </p>
      )}
    </section>
  )
}

/** Policy against reference: win rate, rewards, KL, length and the best-of-n baseline at its KL. */
export function PolicyComparison({ summary, kind }: { summary: PolicySummary; kind: string }) {
  const s = summary
  const gain = s.meanReward != null && s.referenceMeanReward != null ? s.meanReward - s.referenceMeanReward : null
  const notMeasured = `not measured by a ${kind} job`
  const rows: [string, string, string?][] = [
    ['Win rate against the reference', formatPercent(s.winRate), s.prompts != null ? `${s.prompts} held-out prompts` : undefined],
    ['Mean reward: policy vs reference', `${fig(s.meanReward)} vs ${fig(s.referenceMeanReward)}`, gain != null ? `${gain >= 0 ? '+' : ''}${formatTick(gain)}` : undefined],
    ['Mean KL to the reference', fig(s.meanKl), 'nats per response'],
    ['Mean length', fig(s.meanLength), 'tokens'],
    ['Reward–length correlation', fig(s.rewardLengthCorrelation), s.rewardLengthCorrelation == null ? notMeasured : undefined],
  ]
  if (s.endedFraction != null) rows.push(['Responses that end', formatPercent(s.endedFraction)])
  if (s.bestOfN) {
    const b = s.bestOfN
    rows.push([`Best-of-${b.n ?? 'n'} baseline: mean reward`, fig(b.meanReward), `at KL ${fig(b.kl)}`])
    rows.push([`Policy win rate against best-of-${b.n ?? 'n'}`, formatPercent(b.policyWinRate)])
  } else {
    rows.push(['Best-of-n baseline', '—', `${notMeasured}; run an evaluate job`])
  }
  if (s.finalBeta != null) rows.push(['Final KL coefficient β', fig(s.finalBeta)])
  return (
    <table className="table table-compact kv" data-testid="policy-vs-reference">
      <tbody>
        {rows.map(([label, value, note]) => (
          <tr key={label}>
            <th scope="row">{label}</th>
            <td className="num">
              <strong>{value}</strong>
              {note && <div className="small muted">{note}</div>}
            </td>
          </tr>
        ))}
      </tbody>
    </table>
  )
}

/** Prompt, then the policy's and the reference's completion next to each other, with their rewards when scored. */
export function SideBySideSamples({ samples }: { samples: Sample[] }) {
  return <SampleList samples={samples} title={`Samples: policy and reference (${samples.length})`} testId="side-by-side" render={(s) => <SideBySide sample={s} />} />
}

function SideBySide({ sample: s }: { sample: Sample }) {
  const r = sampleRewards(s)
  const scored = r.policy != null && r.reference != null
  return (
    <>
      <Conversation turns={promptTurns(s.prompt) ?? []} />
      <div className="side-by-side">
        <Completion label="Policy" text={s.completion ?? ''} reward={r.policy} higher={scored && r.policy! > r.reference!} />
        <Completion label="Reference" text={typeof s.reference === 'string' ? s.reference : ''} reward={r.reference} higher={scored && r.reference! > r.policy!} />
      </div>
    </>
  )
}

function Completion({ label, text, reward, higher }: { label: string; text: string; reward: number | null; higher: boolean }) {
  return (
    <div className={`turn turn-assistant sample-completion${higher ? ' sample-higher' : ''}`} data-side={label.toLowerCase()}>
      <div className="turn-role">
        {label}
        {reward != null && <span className="sample-reward"> · reward {formatTick(reward)}</span>}
        {higher && <span className="tag tag-job-succeeded sample-higher-tag">higher</span>}
      </div>
      {text ? <Markdown>{text}</Markdown> : <p className="muted small">(empty)</p>}
    </div>
  )
}
