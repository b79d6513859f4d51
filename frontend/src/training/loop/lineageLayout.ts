// A layered layout of a project's lineage (snapshots → jobs → models → generated rounds → the next
// snapshots): each node's column is the longest path that reaches it, so the loop reads left to
// right however many rounds it has been round; within a column, nodes sit near what they came from.
import type { LineageEdge, LineageNode, ProjectLineage } from './types'

export const TYPE_ORDER = ['snapshot', 'job', 'model', 'round']
const typeRank = (type: string) => {
  const i = TYPE_ORDER.indexOf(type)
  return i === -1 ? TYPE_ORDER.length : i
}

export const GEOMETRY = { nodeWidth: 168, nodeHeight: 46, columnGap: 72, rowGap: 30, pad: 18 }

export interface PlacedNode {
  node: LineageNode
  column: number
  row: number
  x: number
  y: number
}

export interface PlacedEdge {
  edge: LineageEdge
  from: PlacedNode
  to: PlacedNode
}

export interface LineageLayout {
  nodes: PlacedNode[]
  edges: PlacedEdge[]
  columns: number
  width: number
  height: number
}

/** The number after the type in an id such as `model:9`; null when there is none. */
export function nodeNumber(node: Pick<LineageNode, 'id'>): number | null {
  const n = Number(node.id.slice(node.id.lastIndexOf(':') + 1))
  return Number.isSafeInteger(n) ? n : null
}

const byId = (a: LineageNode, b: LineageNode) => (nodeNumber(a) ?? 0) - (nodeNumber(b) ?? 0) || a.id.localeCompare(b.id)

function columnsOf(nodes: LineageNode[], edges: LineageEdge[]): Map<string, number> {
  const column = new Map(nodes.map((n) => [n.id, 0]))
  // Longest path by relaxing every edge; a cycle (which a lineage should not have) stops after n passes.
  for (let pass = 0; pass < nodes.length; pass++) {
    let changed = false
    for (const e of edges) {
      const next = column.get(e.from)! + 1
      if (next > column.get(e.to)!) {
        column.set(e.to, next)
        changed = true
      }
    }
    if (!changed) break
  }
  const incoming = new Set(edges.map((e) => e.to))
  for (const n of nodes) {
    const out = edges.filter((e) => e.from === n.id).map((e) => column.get(e.to)!)
    if (incoming.has(n.id)) continue
    // A source sits just left of the first thing it feeds (a base model next to its job); a lone node by its type.
    column.set(n.id, out.length ? Math.max(0, Math.min(...out) - 1) : Math.min(typeRank(n.type), TYPE_ORDER.length - 1))
  }
  return column
}

export function layoutLineage(graph: ProjectLineage): LineageLayout {
  const seen = new Set<string>()
  const nodes = (graph.nodes ?? []).filter((n) => n && typeof n.id === 'string' && !seen.has(n.id) && seen.add(n.id))
  const edges = (graph.edges ?? []).filter((e) => seen.has(e.from) && seen.has(e.to) && e.from !== e.to)
  const column = columnsOf(nodes, edges)
  const columns = nodes.length ? Math.max(...column.values()) + 1 : 0
  const lists: LineageNode[][] = Array.from({ length: columns }, () => [])
  for (const n of [...nodes].sort((a, b) => typeRank(a.type) - typeRank(b.type) || byId(a, b))) lists[column.get(n.id)!].push(n)

  // Order each column by where its predecessors sit (their mean row), type and id breaking ties.
  const row = new Map<string, number>()
  lists.forEach((list, c) => {
    const key = (n: LineageNode, fallback: number) => {
      const rows = edges.filter((e) => e.to === n.id && column.get(e.from)! < c).map((e) => row.get(e.from)!)
      return rows.length ? rows.reduce((a, b) => a + b, 0) / rows.length : fallback
    }
    const keyed = list.map((n, i) => ({ n, k: key(n, i) }))
    keyed.sort((a, b) => a.k - b.k || typeRank(a.n.type) - typeRank(b.n.type) || byId(a.n, b.n))
    keyed.forEach(({ n }, i) => row.set(n.id, i))
    lists[c] = keyed.map(({ n }) => n)
  })

  const { nodeWidth: w, nodeHeight: h, columnGap, rowGap, pad } = GEOMETRY
  const placed = new Map<string, PlacedNode>()
  for (const n of nodes) {
    const c = column.get(n.id)!
    const r = row.get(n.id)!
    placed.set(n.id, { node: n, column: c, row: r, x: pad + c * (w + columnGap), y: pad + r * (h + rowGap) })
  }
  const rows = Math.max(0, ...lists.map((l) => l.length))
  return {
    nodes: nodes.map((n) => placed.get(n.id)!),
    edges: edges.map((edge) => ({ edge, from: placed.get(edge.from)!, to: placed.get(edge.to)! })),
    columns,
    width: columns ? pad * 2 + columns * w + (columns - 1) * columnGap : 0,
    // One gap more under the last row: the lanes of long links run there.
    height: rows ? pad * 2 + rows * h + rows * rowGap : 0,
  }
}

/**
 * The graph with each snapshot a round was answered into given the round's project: a round may
 * write into another project, and the server names the project on the round only.
 */
export function inheritProjects(graph: ProjectLineage): ProjectLineage {
  const byId = new Map((graph.nodes ?? []).map((n) => [n.id, n]))
  const project = new Map<string, number>()
  for (const e of graph.edges ?? []) {
    const from = byId.get(e.from)
    const to = byId.get(e.to)
    if (from?.type === 'round' && typeof from.project === 'number' && to?.type === 'snapshot' && to.project == null) project.set(to.id, from.project)
  }
  if (project.size === 0) return graph
  return { ...graph, nodes: graph.nodes.map((n) => (project.has(n.id) ? { ...n, project: project.get(n.id) } : n)) }
}

/** Where a node's own page is: the server's `href` when it sends one; a node of another project links there. */
export function nodeHref(node: LineageNode, projectId: number, staff: boolean): string | null {
  if (node.href) return node.href
  const id = nodeNumber(node)
  const project = node.project ?? projectId
  switch (node.type) {
    case 'snapshot':
      return `/projects/${project}/snapshots`
    case 'job':
      return id === null ? null : `/training/${id}`
    case 'model':
      return id === null ? null : staff ? `/models?model=${id}` : `/projects/${projectId}/models?model=${id}`
    case 'round':
      return `/projects/${project}/items`
    default:
      return null
  }
}

export interface EdgeShape {
  d: string
  labelX: number
  labelY: number
}

/**
 * A curve from the right edge of one node to the left edge of another. A link to the next column
 * is one curve; a longer one runs along the gap under the lower of the two rows (in its own `lane`
 * of that gap), so that it passes between the nodes of the columns it skips instead of through them.
 */
export function edgePath(from: PlacedNode, to: PlacedNode, lane = 0): EdgeShape {
  const { nodeWidth: w, nodeHeight: h } = GEOMETRY
  const x1 = from.x + w
  const y1 = from.y + h / 2
  const x2 = to.x
  const y2 = to.y + h / 2
  if (to.column - from.column === 1) {
    const bend = Math.max(30, (x2 - x1) / 2)
    return { d: `M ${x1} ${y1} C ${x1 + bend} ${y1}, ${x2 - bend} ${y2}, ${x2} ${y2}`, labelX: (x1 + x2) / 2, labelY: (y1 + y2) / 2 - 4 }
  }
  const gap = gapOf(from, to) + LANE_OFFSETS[lane % LANE_OFFSETS.length]
  const r = 24
  return {
    d: `M ${x1} ${y1} C ${x1 + r} ${y1}, ${x1 + r} ${gap}, ${x1 + 2 * r} ${gap} L ${x2 - 2 * r} ${gap} C ${x2 - r} ${gap}, ${x2 - r} ${y2}, ${x2} ${y2}`,
    labelX: (x1 + x2) / 2,
    labelY: gap - 3,
  }
}

// Lanes within a gap between rows, nearest its middle first.
const LANE_OFFSETS = [0, -5, 5, -10, 10]
const LABEL_SPACING = 64

/** The middle of the gap under the lower of two nodes' rows. */
function gapOf(from: PlacedNode, to: PlacedNode): number {
  return Math.max(from.y, to.y) + GEOMETRY.nodeHeight + GEOMETRY.rowGap / 2
}

/** Every edge's shape: long links sharing a gap each take a lane, and their labels are spread so none covers another. */
export function edgeShapes(edges: Pick<PlacedEdge, 'from' | 'to'>[]): EdgeShape[] {
  const lanes = new Map<number, number>()
  const shapes = edges.map(({ from, to }) => {
    if (to.column - from.column === 1) return edgePath(from, to)
    const gap = gapOf(from, to)
    const lane = lanes.get(gap) ?? 0
    lanes.set(gap, lane + 1)
    return { ...edgePath(from, to, lane), gap }
  })
  const byGap = new Map<number, (EdgeShape & { gap: number })[]>()
  for (const s of shapes) if ('gap' in s) byGap.set(s.gap, [...(byGap.get(s.gap) ?? []), s])
  for (const group of byGap.values()) {
    group.sort((a, b) => a.labelX - b.labelX)
    for (let i = 1; i < group.length; i++) group[i].labelX = Math.max(group[i].labelX, group[i - 1].labelX + LABEL_SPACING)
  }
  return shapes.map((s) => ({ d: s.d, labelX: s.labelX, labelY: s.labelY }))
}
