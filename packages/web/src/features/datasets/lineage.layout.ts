import type { LineageGraph } from "@caretflow/contracts";
import dagre from "@dagrejs/dagre";

export const NODE_WIDTH = 190;
export const NODE_HEIGHT = 56;

/** Top-left corner of each node, by id. */
export type Positions = Map<string, { x: number; y: number }>;

/**
 * Places a lineage graph left to right (sources first, what was made from them to the right) with
 * dagre. Pure: the same graph gives the same positions. Example: `layoutLineage(graph).get("v:sales@1")`.
 */
export function layoutLineage(graph: Pick<LineageGraph, "nodes" | "edges">): Positions {
  const g = new dagre.graphlib.Graph();
  g.setGraph({ rankdir: "LR", nodesep: 24, ranksep: 70, marginx: 10, marginy: 10 });
  g.setDefaultEdgeLabel(() => ({}));
  for (const n of graph.nodes) g.setNode(n.id, { width: NODE_WIDTH, height: NODE_HEIGHT });
  for (const e of graph.edges) if (g.hasNode(e.from) && g.hasNode(e.to)) g.setEdge(e.from, e.to);
  dagre.layout(g);
  const out: Positions = new Map();
  for (const n of graph.nodes) {
    const p = g.node(n.id);
    // dagre gives centres; React Flow wants top-left corners.
    out.set(n.id, { x: p.x - NODE_WIDTH / 2, y: p.y - NODE_HEIGHT / 2 });
  }
  return out;
}

/** Where a lineage node links to in the UI: a dataset version's page, a job's page; null for sources and hidden nodes. */
export function lineageHref(n: LineageGraph["nodes"][number]): string | null {
  if (n.type === "version" && n.dataset) return `/data/${encodeURIComponent(n.dataset)}?v=${n.version ?? ""}`;
  if (n.type === "job" && n.jobId) return `/jobs/${encodeURIComponent(n.jobId)}`;
  return null;
}
