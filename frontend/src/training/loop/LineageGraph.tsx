// A project's lineage as a graph: snapshots, the jobs that trained on them, the models they made,
// the rounds those models generated and the snapshots built after; each node links to its page.
import { useMemo, type MouseEvent } from 'react'
import { useSession } from '../../lib/auth'
import { useNavigate } from 'react-router'
import { edgeShapes, GEOMETRY, inheritProjects, layoutLineage, nodeHref, TYPE_ORDER, type PlacedNode } from './lineageLayout'
import { Problem } from './parts'
import { useProjectLineage } from './queries'
import type { ProjectLineage } from './types'
import { apiPaths } from '../../lib/paths'

const TYPE_LABEL: Record<string, string> = { snapshot: 'snapshot', job: 'training job', model: 'model', round: 'generated round' }
const MAX_LABEL = 22

const clip = (text: string, max: number) => (text.length > max ? `${text.slice(0, max - 1)}…` : text)

export function LineageSection({ projectId }: { projectId: number }) {
  const lineage = useProjectLineage(projectId)
  return (
    <section className="card" aria-labelledby="project-lineage" data-testid="project-lineage">
      <h2 id="project-lineage">Lineage</h2>
      <p className="small muted">From the snapshots to the jobs trained on them, the models they made, the rounds those models generated and the snapshots built after. Select a node to open it.</p>
      {lineage.error != null && <Problem error={lineage.error} what="The lineage graph" endpoint={`GET ${apiPaths.lineage(projectId)}`} />}
      {lineage.isPending && <p className="muted small">Loading…</p>}
      {lineage.data && (lineage.data.nodes?.length ? <LineageGraph graph={lineage.data} projectId={projectId} /> : <p className="muted small">Nothing trained or generated from this project yet.</p>)}
    </section>
  )
}

export function LineageGraph({ graph, projectId }: { graph: ProjectLineage; projectId: number }) {
  const { me } = useSession()
  const layout = useMemo(() => layoutLineage(inheritProjects(graph)), [graph])
  const shapes = useMemo(() => edgeShapes(layout.edges), [layout])
  const labels = new Map(layout.nodes.map((p) => [p.node.id, p.node.label]))
  return (
    <>
      <ul className="lineage-legend small" aria-label="Node types">
        {TYPE_ORDER.map((t) => (
          <li key={t}>
            <span className={`swatch lineage-swatch-${t}`} aria-hidden="true" /> {TYPE_LABEL[t]}
          </li>
        ))}
      </ul>
      <div className="lineage-scroll">
        <svg className="lineage-graph" width={layout.width} height={layout.height} viewBox={`0 0 ${layout.width} ${layout.height}`} role="group" aria-label={`Lineage: ${layout.nodes.length} nodes, ${layout.edges.length} links`} data-testid="lineage-graph">
          <defs>
            <marker id="lineage-arrow" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" markerHeight="7" orient="auto-start-reverse">
              <path d="M 0 0 L 10 5 L 0 10 z" className="lineage-arrowhead" />
            </marker>
          </defs>
          {layout.edges.map(({ edge }, i) => {
            const shape = shapes[i]
            return (
              <g key={`${edge.from}-${edge.to}-${i}`} className="lineage-edge" data-from={edge.from} data-to={edge.to}>
                <path d={shape.d} markerEnd="url(#lineage-arrow)" />
                {edge.label && (
                  <text x={shape.labelX} y={shape.labelY} textAnchor="middle" className="lineage-edge-label">
                    {clip(edge.label, 18)}
                  </text>
                )}
              </g>
            )
          })}
          {layout.nodes.map((p) => (
            <Node key={p.node.id} placed={p} href={nodeHref(p.node, projectId, me.is_staff)} />
          ))}
        </svg>
      </div>
      <details className="small lineage-as-list">
        <summary>The links as a list</summary>
        <ul>
          {layout.edges.map(({ edge }, i) => (
            <li key={i}>
              {labels.get(edge.from)} → {labels.get(edge.to)}
              {edge.label && <span className="muted"> ({edge.label})</span>}
            </li>
          ))}
        </ul>
      </details>
    </>
  )
}

function Node({ placed, href }: { placed: PlacedNode; href: string | null }) {
  const navigate = useNavigate()
  const { node, x, y } = placed
  const { nodeWidth: w, nodeHeight: h } = GEOMETRY
  const known = TYPE_ORDER.includes(node.type) ? node.type : 'other'
  const body = (
    <>
      <title>{`${TYPE_LABEL[node.type] ?? node.type}: ${node.label}${node.status ? ` (${node.status})` : ''}`}</title>
      <rect x={x} y={y} width={w} height={h} rx="7" className="lineage-node-box" />
      <rect x={x} y={y} width="5" height={h} rx="2" className="lineage-node-stripe" />
      <text x={x + 13} y={y + 19} className="lineage-node-label">
        {clip(node.label, MAX_LABEL)}
      </text>
      <text x={x + 13} y={y + 35} className="lineage-node-meta">
        {[TYPE_LABEL[node.type] ?? node.type, node.type === 'model' ? node.kind : null, node.status].filter(Boolean).join(' · ')}
      </text>
    </>
  )
  const className = `lineage-node lineage-node-${known}${node.status ? ` lineage-status-${node.status}` : ''}`
  if (!href) {
    return (
      <g className={className} data-node={node.id}>
        {body}
      </g>
    )
  }
  const follow = (event: MouseEvent<Element>) => {
    if (event.button !== 0 || event.metaKey || event.ctrlKey || event.shiftKey) return
    event.preventDefault()
    navigate(href)
  }
  return (
    <a href={href} className={className} data-node={node.id} onClick={follow} aria-label={`${TYPE_LABEL[node.type] ?? node.type} ${node.label}${node.status ? `, ${node.status}` : ''}`}>
      {body}
    </a>
  )
}
