// A project's "Rounds" tab: closing the loop from a trained model back to new annotation work — a
// round of generated items, the AI annotator, and constitutions. Leads prepare and preview; admins launch.
import { LeadFrame } from '../../lead/ProjectHeader'
import { errorText } from '../../lib/errors'
import type { Project } from '../../lib/types'
import { useKinds } from '../queries'
import type { TrainingKind } from '../types'
import { AiAnnotator } from './AiAnnotator'
import { Constitutions } from './Constitutions'
import { NewRound } from './NewRound'
import { useModelsFor } from './queries'

export function RoundsPage({ projectId }: { projectId: number }) {
  return <LeadFrame projectId={projectId}>{(project) => <Rounds project={project} />}</LeadFrame>
}

/** The kind as the server describes it; null once the kinds are known and it is not among them, undefined before. */
function kindOf(kinds: TrainingKind[] | undefined, name: string): TrainingKind | null | undefined {
  return kinds ? kinds.find((k) => k.kind === name) ?? null : undefined
}

function Rounds({ project }: { project: Project }) {
  const kinds = useKinds()
  const models = useModelsFor(project.id)
  const shared = { project, models: models.data ?? [], modelsLoading: models.isPending }
  return (
    <>
      {models.error != null && <p className="form-error">Could not load the models: {errorText(models.error)}</p>}
      <NewRound {...shared} generate={kindOf(kinds.data, 'generate')} />
      <AiAnnotator {...shared} kind={kindOf(kinds.data, 'ai_annotate')} />
      <Constitutions {...shared} kind={kindOf(kinds.data, 'constitutional')} />
    </>
  )
}
