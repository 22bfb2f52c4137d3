import type { LineageGraph, LineageNode } from "@caretflow/contracts";
import { Background, type Edge, Handle, type Node, type NodeProps, Position, ReactFlow } from "@xyflow/react";
import { useMemo } from "react";
import { Link } from "react-router-dom";
import { useResource } from "../../api/context.tsx";
import { EmptyState, ErrorBox, Skeleton } from "../../ui/feedback.tsx";
import { Card } from "../../ui/layout.tsx";
import { layoutLineage, lineageHref } from "./lineage.layout.ts";
import "@xyflow/react/dist/style.css";
import "./catalog.css";

type LineageFlowNode = Node<{ node: LineageNode }, "lineage">;

const KIND_WORDS: Record<LineageNode["type"], string> = { source: "source", version: "dataset version", job: "job", hidden: "" };

/** One box of the graph: what it is, its name, a link to its page when it has one. */
function LineageBox({ data }: NodeProps<LineageFlowNode>) {
  const n = data.node;
  const href = lineageHref(n);
  const detail =
    n.type === "version"
      ? (n.kind ?? "")
      : n.type === "job"
        ? [n.status, n.runId ? `run ${n.runId.slice(0, 8)}` : null].filter(Boolean).join(" · ")
        : n.type === "source"
          ? (n.kind ?? "")
          : "";
  return (
    <div
      className={`lineage-node lineage-node-${n.type}${n.current ? " lineage-node-current" : ""}`}
      data-testid="lineage-node"
      data-node-type={n.type}
    >
      <Handle type="target" position={Position.Left} isConnectable={false} />
      <span className="lineage-node-kind">{KIND_WORDS[n.type]}</span>
      {href ? (
        <Link className="nodrag" to={href}>
          {n.label}
        </Link>
      ) : (
        <span>{n.label}</span>
      )}
      {detail ? <span className="lineage-node-kind">{detail}</span> : null}
      <Handle type="source" position={Position.Right} isConnectable={false} />
    </div>
  );
}

const nodeTypes = { lineage: LineageBox };

/**
 * The lineage tab: sources, versions, jobs and what they made, laid out left to right; boxes link to their
 * pages. The default export lets the dataset page load React Flow only when the tab opens.
 */
export default LineageView;
export function LineageView({ dataset }: { dataset: string }) {
  const lineage = useResource((api) => api.lineage(dataset), `lineage:${dataset}`);
  const flow = useMemo(() => (lineage.data ? toFlow(lineage.data) : null), [lineage.data]);
  if (lineage.error) return <ErrorBox error={lineage.error} onRetry={lineage.reload} />;
  if (!flow) return <Skeleton lines={6} />;
  if (flow.nodes.length === 0)
    return (
      <Card>
        <EmptyState title="No lineage">This dataset has no recorded sources or uses yet.</EmptyState>
      </Card>
    );
  return (
    <Card>
      <div className="lineage-canvas" data-testid="lineage-graph">
        <ReactFlow
          nodes={flow.nodes}
          edges={flow.edges}
          nodeTypes={nodeTypes}
          nodesDraggable={false}
          nodesConnectable={false}
          fitView
          fitViewOptions={{ maxZoom: 1 }}
          minZoom={0.2}
        >
          <Background />
        </ReactFlow>
      </div>
    </Card>
  );
}

function toFlow(graph: LineageGraph): { nodes: LineageFlowNode[]; edges: Edge[] } {
  const pos = layoutLineage(graph);
  return {
    nodes: graph.nodes.map((n) => ({ id: n.id, type: "lineage", position: pos.get(n.id) ?? { x: 0, y: 0 }, data: { node: n } })),
    edges: graph.edges.map((e) => ({
      id: `${e.from}>${e.to}>${e.type}`,
      source: e.from,
      target: e.to,
      label: e.type,
      animated: false,
    })),
  };
}
