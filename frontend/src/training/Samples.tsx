// A job's samples, each drawn by its shape: a completion (SFT, DPO…), candidates written for a new
// round (generate), an answer with its critique and revision (constitutional), or, for anything
// else, the raw JSON. Samples with a reference completion have their own side-by-side view.
import { useState, type ReactNode } from 'react'
import { Conversation } from '../annotate/Conversation'
import { Markdown } from '../components/Markdown'
import type { Message, Sample } from './types'

const SAMPLES_SHOWN = 5

const text = (v: unknown): string | null => (typeof v === 'string' ? v : null)

export function promptTurns(prompt: unknown): Message[] | null {
  if (typeof prompt === 'string') return [{ role: 'user', content: prompt }]
  if (Array.isArray(prompt) && prompt.every((t) => t && typeof t === 'object' && typeof t.content === 'string')) return prompt as Message[]
  return null
}

export function Samples({ samples }: { samples: Sample[] }) {
  if (!samples?.length) return null
  return <SampleList samples={samples} title={`Samples (${samples.length})`} testId="job-samples" render={(s) => <SampleView sample={s} />} />
}

/** A job's samples as a card, the first few shown until the reader asks for all. */
export function SampleList({ samples, title, testId, render }: { samples: Sample[]; title: string; testId: string; render: (sample: Sample) => ReactNode }) {
  const [all, setAll] = useState(false)
  const shown = all ? samples : samples.slice(0, SAMPLES_SHOWN)
  return (
    <section className="card" aria-labelledby="job-samples" data-testid={testId}>
      <h2 id="job-samples">{title}</h2>
      <ol className="samples">
        {shown.map((s, i) => (
          <li key={i} className="sample" data-sample={i}>
            {render(s)}
          </li>
        ))}
      </ol>
      {samples.length > SAMPLES_SHOWN && (
        <button type="button" className="btn btn-sm" onClick={() => setAll((a) => !a)} aria-expanded={all}>
          {all ? 'Show fewer' : `Show all ${samples.length}`}
        </button>
      )}
    </section>
  )
}

function Turn({ label, body }: { label: string; body: string }) {
  return (
    <div className="turn turn-assistant sample-completion">
      <div className="turn-role">{label}</div>
      {body ? <Markdown>{body}</Markdown> : <p className="muted small">(empty)</p>}
    </div>
  )
}

function SampleView({ sample }: { sample: Sample }) {
  const turns = promptTurns(sample.prompt)
  const candidates = Array.isArray(sample.responses) ? (sample.responses as { text?: unknown; model?: unknown }[]) : null
  const revision = text(sample.revision)
  const completion = text(sample.completion)
  if (!turns || (!candidates && revision === null && completion === null)) return <pre className="raw small">{JSON.stringify(sample, null, 2)}</pre>
  const principle = sample.principle as { critique?: unknown } | undefined
  return (
    <>
      <Conversation turns={turns} />
      {candidates ? (
        <div className="side-by-side" data-candidates={candidates.length}>
          {candidates.map((c, i) => (
            <Turn key={i} label={`Candidate ${i + 1}${text(c.model) ? ` · ${c.model}` : ''}`} body={text(c.text) ?? ''} />
          ))}
        </div>
      ) : revision !== null ? (
        <>
          <div className="side-by-side">
            <Turn label="Original" body={text(sample.original) ?? ''} />
            <Turn label="Revision" body={revision} />
          </div>
          <details className="small">
            <summary>Critique{text(principle?.critique) ? ` of “${principle!.critique}”` : ''}</summary>
            <Markdown>{text(sample.critique) ?? ''}</Markdown>
          </details>
        </>
      ) : (
        <Turn label="Completion" body={completion ?? ''} />
      )}
    </>
  )
}
