// "AI annotator": a reward model answers this project's open items as the project member
// `ai:<model name>`, beside the people. Admins launch it.
import { useState } from 'react'
import { FieldErrors } from '../../components/Banners'
import { useSession } from '../../lib/auth'
import { useWrite } from '../../lib/useWrite'
import { useNavigate } from 'react-router'
import type { Project } from '../../lib/types'
import { rewardModels } from '../filters'
import { useCreateJob } from '../queries'
import type { TrainedModel, TrainingKind } from '../types'
import { AdminLaunches, mayLaunchInto, ModelSelect } from './parts'

interface Props {
  project: Project
  models: TrainedModel[]
  modelsLoading: boolean
  kind: TrainingKind | null | undefined
}

export function AiAnnotator({ project, models, modelsLoading, kind }: Props) {
  const navigate = useNavigate()
  const { me } = useSession()
  const [rewardModel, setRewardModel] = useState('')
  const [overlap, setOverlap] = useState(false)
  const { errors, setErrors, run } = useWrite()
  const create = useCreateJob()
  const rewards = rewardModels(models)
  const chosen = rewards.find((m) => String(m.id) === rewardModel)
  const fieldError = (field: string) => errors.filter((e) => e.field === field).map((e) => e.message).join(' ')

  async function launch() {
    if (!chosen) {
      setErrors([{ field: 'reward_model', message: 'Choose the reward model that answers.' }])
      return
    }
    const job = await run(() => create.mutateAsync({ kind: 'ai_annotate', reward_model: chosen.id, config: { project: project.id, take_overlap_slots: overlap } }))
    if (job) navigate(`/training/${job.id}`)
  }

  return (
    <section className="card" aria-labelledby="ai-annotator" data-testid="ai-annotator">
      <h2 id="ai-annotator">AI annotator</h2>
      <p className="small muted">
        A reward model answers this project’s items as the member <code>ai:{chosen?.name ?? '<model name>'}</code>; its answers are marked as a model’s, so they can be told apart from
        people’s in agreement and curation.
      </p>
      {kind === null && <p className="banner banner-info small">This server cannot run <code>ai_annotate</code> jobs yet.</p>}
      <div className="new-job-grid">
        <ModelSelect label="Reward model" name="reward_model" models={rewards} loading={modelsLoading} value={rewardModel} onChange={(v) => (setErrors([]), setRewardModel(v))} empty="Choose a reward model" error={fieldError('reward_model')} hint="reward models with a classification head" disabled={!mayLaunchInto(me, project.id)} />
        <label className="check ai-overlap">
          <input type="checkbox" checked={overlap} onChange={(e) => setOverlap(e.target.checked)} disabled={!mayLaunchInto(me, project.id)} />
          <span>
            Take overlap slots too <span className="small muted">(<code>take_overlap_slots</code>: by default the extra answers per item that measure agreement are left to people)</span>
          </span>
        </label>
      </div>
      <FieldErrors errors={errors.filter((e) => e.field !== 'reward_model')} />
      {mayLaunchInto(me, project.id) ? (
        <div className="card-actions">
          <button type="button" className="btn btn-primary" onClick={launch} disabled={create.isPending || kind === null}>
            {create.isPending ? 'Launching…' : 'Launch AI annotator'}
          </button>
        </div>
      ) : (
        <AdminLaunches what="the AI annotator" />
      )}
    </section>
  )
}
