import { describe, expect, it } from 'vitest'
import { edgePath, edgeShapes, GEOMETRY, inheritProjects, layoutLineage, nodeHref } from './lineageLayout'
import type { ProjectLineage } from './types'

const node = (id: string, label = id) => ({ id, type: id.split(':')[0], label })
const edge = (from: string, to: string, label?: string) => ({ from, to, label })

/** Node ids by column, each column top to bottom. */
function columns(graph: ProjectLineage): string[][] {
  const layout = layoutLineage(graph)
  const out: string[][] = Array.from({ length: layout.columns }, () => [])
  for (const p of [...layout.nodes].sort((a, b) => a.row - b.row)) out[p.column].push(p.node.id)
  return out
}

describe('layoutLineage', () => {
  it('lays one turn of the loop out left to right: snapshot, job, model, round, next snapshot', () => {
    const graph = {
      nodes: [node('round:1'), node('model:9'), node('snapshot:4'), node('job:12'), node('snapshot:3'), node('job:15')],
      edges: [edge('snapshot:3', 'job:12', 'trained on'), edge('job:12', 'model:9'), edge('model:9', 'job:15'), edge('job:15', 'round:1'), edge('round:1', 'snapshot:4')],
    }
    expect(columns(graph)).toEqual([['snapshot:3'], ['job:12'], ['model:9'], ['job:15'], ['round:1'], ['snapshot:4']])
    const layout = layoutLineage(graph)
    expect(layout.edges.map((e) => [e.from.column, e.to.column])).toEqual([[0, 1], [1, 2], [2, 3], [3, 4], [4, 5]])
    expect(layout.width).toBeGreaterThan(layout.height)
  })

  it('puts a base model just left of the job it feeds, not in the first column', () => {
    const graph = {
      nodes: [node('snapshot:3'), node('job:12'), node('model:9'), node('job:20'), node('model:1'), node('snapshot:5')],
      edges: [edge('snapshot:3', 'job:12'), edge('job:12', 'model:9'), edge('model:9', 'job:20'), edge('snapshot:5', 'job:20'), edge('model:1', 'job:12')],
    }
    const placed = new Map(layoutLineage(graph).nodes.map((p) => [p.node.id, p.column]))
    expect(placed.get('model:1')).toBe(0)
    expect(placed.get('job:20')).toBe(3)
    expect(placed.get('snapshot:5')).toBe(2)
  })

  it('orders a column by where its nodes came from, and places lone nodes by their type', () => {
    const graph = {
      nodes: [node('snapshot:2'), node('snapshot:1'), node('job:10'), node('job:11'), node('model:7'), node('round:3')],
      edges: [edge('snapshot:2', 'job:10'), edge('snapshot:1', 'job:11')],
    }
    const cols = columns(graph)
    expect(cols[0]).toEqual(['snapshot:1', 'snapshot:2'])
    expect(cols[1]).toEqual(['job:11', 'job:10'])
    expect(cols[2]).toEqual(['model:7'])
    expect(cols[3]).toEqual(['round:3'])
  })

  it('ignores links to unknown nodes and twin nodes, and ends on a cycle', () => {
    const layout = layoutLineage({
      nodes: [node('job:1'), node('model:2'), node('job:1')],
      edges: [edge('job:1', 'model:2'), edge('model:2', 'job:1'), edge('job:1', 'model:404'), edge('job:1', 'job:1')],
    })
    expect(layout.nodes.length).toBe(2)
    expect(layout.edges.length).toBe(2)
    expect(layoutLineage({ nodes: [], edges: [] })).toMatchObject({ nodes: [], columns: 0, width: 0, height: 0 })
  })
})

describe('edgePath', () => {
  it('draws a link to the next column as one curve and runs a longer one under the row, clear of the nodes it skips', () => {
    const layout = layoutLineage({ nodes: [node('snapshot:1'), node('job:2'), node('model:3'), node('job:4')], edges: [edge('snapshot:1', 'job:2'), edge('job:2', 'model:3'), edge('model:3', 'job:4'), edge('snapshot:1', 'job:4')] })
    const [short, , , long] = layout.edges.map((e) => edgePath(e.from, e.to))
    expect(short.d.match(/C/g)?.length).toBe(1)
    const below = GEOMETRY.pad + GEOMETRY.nodeHeight + GEOMETRY.rowGap / 2
    expect(long.d).toContain(`L ${layout.nodes[3].x - 48} ${below}`)
    expect(long.labelY).toBeLessThan(below)
    expect(long.labelY).toBeGreaterThan(GEOMETRY.pad + GEOMETRY.nodeHeight)
  })

  it('gives long links that share a gap lanes of their own and labels apart (one model as base and reference)', () => {
    const layout = layoutLineage({
      nodes: [node('model:1'), node('job:2'), node('model:3'), node('job:4')],
      edges: [edge('model:1', 'job:2'), edge('job:2', 'model:3'), edge('model:3', 'job:4'), edge('model:1', 'job:4', 'base'), edge('model:1', 'job:4', 'reference')],
    })
    expect(layout.edges.slice(3).map((e) => [e.from.column, e.to.column])).toEqual([[0, 3], [0, 3]])
    const [, , , a, b] = edgeShapes(layout.edges)
    expect(a.d).not.toBe(b.d)
    expect(Math.abs(a.labelX - b.labelX)).toBeGreaterThanOrEqual(64)
  })
})

describe('nodeHref', () => {
  it('links each node to its page, a model to the Models tab for a lead', () => {
    expect(nodeHref(node('snapshot:3'), 1, false)).toBe('/projects/1/snapshots')
    expect(nodeHref(node('job:12'), 1, false)).toBe('/training/12')
    expect(nodeHref(node('model:9'), 1, false)).toBe('/projects/1/models?model=9')
    expect(nodeHref(node('model:9'), 1, true)).toBe('/models?model=9')
    expect(nodeHref(node('round:4'), 1, true)).toBe('/projects/1/items')
    expect(nodeHref({ ...node('round:4'), href: '/projects/1/items?round=4' }, 1, true)).toBe('/projects/1/items?round=4')
    expect(nodeHref(node('widget:1'), 1, true)).toBeNull()
  })

  it('links a round, and the snapshots it was answered into, to the project its items went to', () => {
    const graph = inheritProjects({
      nodes: [node('job:13'), { ...node('round:13'), project: 2 }, node('snapshot:8'), node('snapshot:3')],
      edges: [edge('snapshot:3', 'job:13'), edge('job:13', 'round:13'), edge('round:13', 'snapshot:8')],
    })
    const href = Object.fromEntries(graph.nodes.map((n) => [n.id, nodeHref(n, 1, false)]))
    expect(href).toEqual({ 'job:13': '/training/13', 'round:13': '/projects/2/items', 'snapshot:8': '/projects/2/snapshots', 'snapshot:3': '/projects/1/snapshots' })
  })
})
