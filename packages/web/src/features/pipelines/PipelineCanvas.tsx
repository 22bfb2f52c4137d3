import type { PipelineError, PipelineStepRun, StepType } from "@caretflow/contracts";
import {
  applyEdgeChanges,
  applyNodeChanges,
  Background,
  Controls,
  type Edge,
  type EdgeChange,
  Handle,
  MarkerType,
  type Node,
  type NodeChange,
  type NodeProps,
  Position,
  ReactFlow,
  ReactFlowProvider,
  useReactFlow,
} from "@xyflow/react";
import { type DragEvent, useEffect, useState } from "react";
import { useNow } from "../../api/context.tsx";
import { formatDuration } from "../../lib/format.ts";
import { type BuilderModel, modelEdges, type Position as Pos, stepId, stepType } from "./pipeline.model.ts";
import { attemptsLabel, stepDurationMs } from "./pipeline.runs.ts";
import "@xyflow/react/dist/style.css";

/** The MIME type a palette entry is dragged with; its data is the step type. */
export const STEP_DRAG_TYPE = "application/x-caretflow-step";

interface StepNodeData extends Record<string, unknown> {
  id: string;
  type: string;
  errors: PipelineError[];
  run: PipelineStepRun | undefined;
  editable: boolean;
}
type StepFlowNode = Node<StepNodeData, "step">;

/** One step: its id and type; in the builder its errors, in a run its state, time and attempt. */
function StepBox({ data, selected }: NodeProps<StepFlowNode>) {
  const run = data.run;
  const now = useNow(run?.status === "running");
  const status = run?.status;
  const duration = run ? stepDurationMs(run, now) : null;
  const n = data.errors.length;
  return (
    <div
      className={`pl-node${status ? ` pl-node-${status}` : ""}${n > 0 ? " pl-node-invalid" : ""}${selected ? " pl-node-selected" : ""}`}
      data-testid="pipeline-node"
      data-step={data.id}
      data-status={status ?? ""}
      data-errors={n}
    >
      <Handle type="target" position={Position.Top} isConnectable={data.editable} />
      <span className="pl-node-type">{data.type || "step"}</span>
      <span className="pl-node-id">{data.id || "(no id)"}</span>
      {n > 0 ? (
        <span className="pl-node-errors" title={data.errors.map((e) => e.message).join("\n")}>
          {n} error{n === 1 ? "" : "s"}: {data.errors[0]!.message}
        </span>
      ) : null}
      {run ? (
        <span className="pl-node-run">
          <span className="pl-node-status">{status}</span>
          {duration !== null ? <span>{formatDuration(duration)}</span> : null}
          {attemptsLabel(run) ? <span>{attemptsLabel(run)}</span> : null}
          {run.reusedFrom ? <span>reused</span> : null}
        </span>
      ) : null}
      <Handle type="source" position={Position.Bottom} isConnectable={data.editable} />
    </div>
  );
}

const nodeTypes = { step: StepBox };

export interface CanvasProps {
  model: BuilderModel;
  selected: string | null;
  onSelect: (key: string | null) => void;
  /** Errors by step key (the builder). */
  errors?: Map<string, PipelineError[]>;
  /** Each step's state in a run, by step id (the run view). */
  runSteps?: Map<string, PipelineStepRun>;
  /** Builder only: drawing, moving, dropping and deleting. */
  edit?: {
    onMove: (key: string, position: Pos) => void;
    onConnect: (source: string, target: string) => void;
    onDisconnect: (source: string, target: string) => void;
    onRemove: (key: string) => void;
    onDrop: (type: StepType, position: Pos) => void;
  };
}

/**
 * The pipeline as a graph: a node per step, an edge from each step to the steps that need it. The
 * builder edits it (drag steps from the palette, draw edges between handles, Delete removes the
 * selection); the run view shows each step's state on the same graph.
 */
export function PipelineCanvas(props: CanvasProps) {
  return (
    <ReactFlowProvider>
      <Canvas {...props} />
    </ReactFlowProvider>
  );
}

function Canvas({ model, selected, onSelect, errors, runSteps, edit }: CanvasProps) {
  const flow = useReactFlow();
  // React Flow keeps measured sizes and drag positions on its node objects: kept here, rebuilt from the model.
  const [nodes, setNodes] = useState<StepFlowNode[]>([]);
  const [edges, setEdges] = useState<Edge[]>([]);

  useEffect(() => {
    setNodes((prev) => {
      const before = new Map(prev.map((n) => [n.id, n]));
      return model.steps.map((s) => ({
        ...before.get(s.key),
        id: s.key,
        type: "step" as const,
        position: s.position,
        selected: s.key === selected,
        deletable: edit !== undefined,
        data: {
          id: stepId(s),
          type: stepType(s),
          errors: errors?.get(s.key) ?? [],
          run: runSteps?.get(stepId(s)),
          editable: edit !== undefined,
        },
      }));
    });
  }, [model, selected, errors, runSteps, edit]);

  useEffect(() => {
    setEdges((prev) => {
      const chosen = new Set(prev.filter((e) => e.selected).map((e) => e.id));
      return modelEdges(model).map((e) => {
        const to = runSteps?.get(stepId(model.steps.find((s) => s.key === e.target)!));
        return {
          ...e,
          selected: chosen.has(e.id),
          deletable: edit !== undefined,
          animated: to?.status === "running",
          markerEnd: { type: MarkerType.ArrowClosed },
        };
      });
    });
  }, [model, runSteps, edit]);

  // A step added by a click may land outside the view: show them all again when the count changes.
  const count = model.steps.length;
  useEffect(() => {
    if (count === 0) return;
    const t = setTimeout(() => void flow.fitView({ maxZoom: 1, padding: 0.2, duration: 200 }), 50);
    return () => clearTimeout(t);
  }, [count, flow]);

  function onNodesChange(changes: NodeChange<StepFlowNode>[]) {
    setNodes((ns) => applyNodeChanges(changes, ns));
    for (const c of changes) {
      if (c.type === "position" && c.position && c.dragging === false) edit?.onMove(c.id, c.position);
      else if (c.type === "select" && c.selected) onSelect(c.id);
      else if (c.type === "remove") edit?.onRemove(c.id);
    }
  }

  function onEdgesChange(changes: EdgeChange[]) {
    setEdges((es) => applyEdgeChanges(changes, es));
    for (const c of changes) {
      if (c.type !== "remove") continue;
      const e = edges.find((x) => x.id === c.id);
      if (e) edit?.onDisconnect(e.source, e.target);
    }
  }

  function onDrop(e: DragEvent) {
    const type = e.dataTransfer.getData(STEP_DRAG_TYPE);
    if (!edit || !type) return;
    e.preventDefault();
    const p = flow.screenToFlowPosition({ x: e.clientX, y: e.clientY });
    edit.onDrop(type as StepType, { x: Math.round(p.x - 90), y: Math.round(p.y - 30) });
  }

  return (
    <div className="pl-canvas" data-testid="pipeline-canvas">
      <ReactFlow
        nodes={nodes}
        edges={edges}
        nodeTypes={nodeTypes}
        onNodesChange={onNodesChange}
        onEdgesChange={onEdgesChange}
        onConnect={(c) => edit?.onConnect(c.source, c.target)}
        onPaneClick={() => onSelect(null)}
        onDragOver={(e) => {
          if (edit && e.dataTransfer.types.includes(STEP_DRAG_TYPE)) {
            e.preventDefault();
            e.dataTransfer.dropEffect = "copy";
          }
        }}
        onDrop={onDrop}
        nodesDraggable={edit !== undefined}
        nodesConnectable={edit !== undefined}
        elementsSelectable
        deleteKeyCode={edit ? ["Delete", "Backspace"] : null}
        fitView
        fitViewOptions={{ maxZoom: 1, padding: 0.2 }}
        minZoom={0.2}
      >
        <Background />
        <Controls showInteractive={false} />
      </ReactFlow>
    </div>
  );
}
