import { type Pipeline, type PipelineParam, STEP_TYPES, type StepType, validatePipeline } from "@caretflow/contracts";
import { useMemo, useState } from "react";
import { Link, useLocation, useNavigate, useParams } from "react-router-dom";
import { useApi, useResource } from "../../api/context.tsx";
import { ErrorBox, Skeleton, Spinner } from "../../ui/feedback.tsx";
import { Badge, Card, PageHeader, Tabs } from "../../ui/layout.tsx";
import { PipelineCanvas, STEP_DRAG_TYPE } from "./PipelineCanvas.tsx";
import { PipelineSettings } from "./PipelineSettings.tsx";
import {
  addStep,
  type BuilderModel,
  connect,
  disconnect,
  emptyModel,
  importYaml,
  modelToYaml,
  moveStep,
  placeErrors,
  relayout,
  removeStep,
  stepId,
} from "./pipeline.model.ts";
import { RecentRuns, RunButton } from "./RunControls.tsx";
import { StepForm, type Suggestions } from "./StepForm.tsx";
import { YamlPanel } from "./YamlPanel.tsx";
import "./pipelines.css";

type SideTab = "step" | "pipeline" | "yaml";

/**
 * The visual builder: `/pipelines/_new` starts an empty pipeline (no pipeline name starts with `_`, so a
 * pipeline may be called `new`), `/pipelines/:name` opens a stored one
 * from its YAML. Steps come from the palette (drag or click), edges are `needs`, the side panel edits the
 * selected step, the pipeline's own fields or the YAML itself. The YAML is checked as it changes; errors
 * show on the node at fault, and Save stays off until the file is valid.
 */
export function PipelineBuilderPage() {
  const { name } = useParams();
  const stored = useResource(async (a) => (name ? a.getPipeline(name) : null), `pipeline:${name ?? ""}`);
  if (name && stored.error) return <ErrorBox error={stored.error} onRetry={stored.reload} title={`Pipeline ${name} could not be opened`} />;
  if (name && !stored.data)
    return (
      <div className="page">
        <Skeleton lines={8} />
      </div>
    );
  // a new pipeline and each stored one (by name and revision) get a fresh builder
  return <Builder key={`${name ?? ""}@${stored.data?.revision ?? 0}`} stored={stored.data ?? null} />;
}

/** Where the nodes were when a new pipeline was saved: the builder reopens it with them in place. */
type Placed = Record<string, { x: number; y: number }>;

function initialModel(stored: Pipeline | null, placed: Placed | undefined): BuilderModel {
  if (!stored) return emptyModel();
  const r = importYaml(stored.yaml);
  if (!r.ok) return emptyModel(stored.name);
  return { ...r.model, steps: r.model.steps.map((s) => ({ ...s, position: placed?.[stepId(s)] ?? s.position })) };
}

function Builder({ stored: storedAtOpen }: { stored: Pipeline | null }) {
  const api = useApi();
  const navigate = useNavigate();
  const location = useLocation();
  const [stored, setStored] = useState(storedAtOpen);
  const [model, setModel] = useState<BuilderModel>(() =>
    initialModel(storedAtOpen, (location.state as { placed?: Placed } | null)?.placed),
  );
  const [selected, setSelected] = useState<string | null>(null);
  const [tab, setTab] = useState<SideTab>("pipeline");
  // The YAML tab's text while it is being edited (it re-imports when it reads as a pipeline).
  const [draft, setDraft] = useState<string | null>(null);
  const [saving, setSaving] = useState(false);
  const [saveError, setSaveError] = useState<unknown>(null);

  const datasets = useResource((a) => a.listDatasets(), "datasets");
  const connections = useResource((a) => a.listConnections(), "connections");
  const models = useResource((a) => a.listModels(), "models");
  const suggestions: Suggestions = useMemo(
    () => ({
      dataset: (datasets.data ?? []).map((d) => d.name),
      connection: (connections.data ?? []).map((c) => c.name),
      model: (models.data ?? []).map((m) => m.name),
    }),
    [datasets.data, connections.data, models.data],
  );

  const yaml = useMemo(() => modelToYaml(model), [model]);
  const text = draft ?? yaml;
  const validation = useMemo(() => validatePipeline(text), [text]);
  const errors = validation.ok ? [] : validation.errors;
  const placed = useMemo(() => placeErrors(model, errors), [model, errors]);
  const savedYaml = useMemo(() => {
    if (!stored) return null;
    const r = importYaml(stored.yaml);
    return r.ok ? modelToYaml(r.model) : stored.yaml;
  }, [stored]);
  const dirty = savedYaml !== yaml || draft !== null;
  const params = (validation.ok ? validation.spec.params : undefined) as Record<string, PipelineParam> | undefined;

  const change = (next: BuilderModel) => {
    setModel(next);
    setDraft(null);
    setSaveError(null);
  };
  const select = (key: string | null) => {
    setSelected(key);
    if (key) setTab("step");
  };
  const add = (type: StepType, position?: { x: number; y: number }) => {
    const r = addStep(model, type, position);
    change(r.model);
    select(r.key);
  };

  async function save() {
    setSaving(true);
    setSaveError(null);
    try {
      const r = await api.applyPipeline(yaml);
      setDraft(null);
      if (r.pipeline.name !== stored?.name) {
        const placed: Placed = Object.fromEntries(model.steps.map((s) => [stepId(s), s.position]));
        navigate(`/pipelines/${encodeURIComponent(r.pipeline.name)}`, { replace: !stored, state: { placed } });
        return;
      }
      setStored(r.pipeline);
    } catch (err) {
      setSaveError(err);
    } finally {
      setSaving(false);
    }
  }

  const pipelineName = typeof model.top.name === "string" ? model.top.name : "";
  const selectedErrors = selected ? (placed.byStep.get(selected) ?? []) : [];

  return (
    <div className="page page-wide">
      <PageHeader
        crumbs={<Link to="/pipelines">Pipelines</Link>}
        title={
          <>
            {stored ? stored.name : "New pipeline"} {stored ? <Badge>revision {stored.revision}</Badge> : null}{" "}
            {dirty ? <Badge tone="warn">unsaved changes</Badge> : null}
          </>
        }
        subtitle="Drag steps from the palette onto the canvas (or click them), draw an edge from a step to the steps that run after it, and fill in each step's inputs."
        actions={
          <>
            <span className="pl-validity" data-testid="pipeline-validity" data-valid={validation.ok}>
              {validation.ok ? (
                <Badge tone="good">valid</Badge>
              ) : (
                <Badge tone="bad">
                  {errors.length} error{errors.length === 1 ? "" : "s"}
                </Badge>
              )}
            </span>
            <button
              type="button"
              className="btn btn-primary"
              data-testid="pipeline-save"
              disabled={!validation.ok || saving || (!dirty && stored !== null)}
              title={validation.ok ? undefined : "Fix the errors first: the file must be valid to be saved"}
              onClick={() => void save()}
            >
              {saving ? <Spinner label="Saving" /> : null} Save
            </button>
            {stored ? (
              <RunButton
                name={stored.name}
                params={params ?? {}}
                disabled={dirty}
                disabledWhy="Save your changes first: a run follows the saved pipeline"
              />
            ) : null}
          </>
        }
      />
      {saveError ? <ErrorBox error={saveError} title="The pipeline was not saved" /> : null}
      <div className="pl-builder">
        <div className="pl-main">
          <Palette onAdd={(type) => add(type)} />
          <PipelineCanvas
            model={model}
            selected={selected}
            onSelect={select}
            errors={placed.byStep}
            edit={{
              onMove: (key, p) => setModel((m) => moveStep(m, key, p)),
              onConnect: (s, t) => change(connect(model, s, t)),
              onDisconnect: (s, t) => change(disconnect(model, s, t)),
              onRemove: (key) => {
                change(removeStep(model, key));
                if (key === selected) select(null);
              },
              onDrop: (type, p) => add(type, p),
            }}
          />
          <div className="pl-canvas-actions">
            <button type="button" className="btn btn-small" onClick={() => setModel(relayout(model))} disabled={model.steps.length === 0}>
              Arrange in run order
            </button>
            <span className="muted small">Positions are the builder's own; the YAML does not keep them.</span>
          </div>
          {placed.file.length > 0 ? (
            <Card title="Problems in the file">
              <ul className="pl-problems" data-testid="pipeline-file-errors">
                {placed.file.map((e, i) => (
                  // biome-ignore lint/suspicious/noArrayIndexKey: errors are listed in file order
                  <li key={i}>
                    {e.line ? <span className="muted">line {e.line}: </span> : null}
                    <code>{e.code}</code> {e.message}
                    {e.hint ? <div className="field-hint">{e.hint}</div> : null}
                  </li>
                ))}
              </ul>
            </Card>
          ) : null}
          {stored ? <RecentRuns pipeline={stored.name} /> : null}
        </div>
        <aside className="pl-side card" aria-label="Settings">
          <Tabs<SideTab>
            tabs={[
              { key: "step", label: "Step" },
              { key: "pipeline", label: "Pipeline" },
              { key: "yaml", label: "YAML" },
            ]}
            active={tab}
            onChange={(t) => {
              if (t !== "yaml" && draft !== null && importYaml(draft, model).ok) setDraft(null);
              setTab(t);
            }}
          />
          <div className="pl-side-body">
            {tab === "step" ? (
              selected && model.steps.some((s) => s.key === selected) ? (
                <StepForm
                  model={model}
                  stepKey={selected}
                  errors={selectedErrors}
                  suggestions={suggestions}
                  onChange={change}
                  onRemove={() => {
                    change(removeStep(model, selected));
                    select(null);
                  }}
                />
              ) : (
                <p className="muted">Select a step on the canvas to configure it.</p>
              )
            ) : tab === "pipeline" ? (
              <PipelineSettings model={model} errors={placed.file} onChange={change} />
            ) : (
              <YamlPanel
                text={text}
                errors={errors}
                fileName={`${pipelineName || "pipeline"}.yaml`}
                onEdit={(t) => {
                  setDraft(t);
                  const r = importYaml(t, model);
                  if (r.ok) setModel(r.model);
                }}
              />
            )}
          </div>
        </aside>
      </div>
    </div>
  );
}

/** The step types, each draggable onto the canvas or added by a click; the description is in its tooltip. */
function Palette({ onAdd }: { onAdd: (type: StepType) => void }) {
  return (
    <nav className="pl-palette" aria-label="Step types">
      <span className="muted small">Add a step:</span>
      {(Object.keys(STEP_TYPES) as StepType[]).map((type) => (
        <button
          key={type}
          type="button"
          className="pl-palette-item"
          draggable
          data-testid={`palette-${type}`}
          title={`${STEP_TYPES[type].description}. Drag onto the canvas, or click to add.`}
          onDragStart={(e) => {
            e.dataTransfer.setData(STEP_DRAG_TYPE, type);
            e.dataTransfer.effectAllowed = "copy";
          }}
          onClick={() => onAdd(type)}
        >
          {type}
        </button>
      ))}
    </nav>
  );
}
