// biome-ignore-all lint/suspicious/noTemplateCurlyInString: pipeline references are written ${{ ... }}
import { type PipelineError, STEP_TYPES, type StepType, stringifyPipeline } from "@caretflow/contracts";
import { parse } from "yaml";

/**
 * The visual builder's model is the pipeline file itself: the top-level fields as written, and each step as
 * written (unknown keys included, so a file with mistakes survives a round trip and its errors stay visible).
 * Only two things are added, both UI-only and never written to the YAML: a stable `key` per step (the node's
 * id, which survives renaming the step) and its position on the canvas.
 */

export interface Position {
  x: number;
  y: number;
}

export interface BuilderStep {
  /** The canvas node's id; stays the same when the step's `id` changes. */
  key: string;
  /** The step as in the file: id, type, needs, if, with, retry, timeout, resources. */
  step: Record<string, unknown>;
  position: Position;
}

export interface BuilderModel {
  /** Every top-level field but `steps`: version, name, description, params, schedule, triggers. */
  top: Record<string, unknown>;
  steps: BuilderStep[];
}

/** What a YAML text gives the builder: a model, or why it cannot be read as one. */
export type ImportResult = { ok: true; model: BuilderModel } | { ok: false; message: string };

/** Distance between the stages of the layered layout (top to bottom) and between the steps of a stage (side by side). */
export const STAGE_GAP = 130;
export const SIBLING_GAP = 230;

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);

let keySeq = 0;
/** A node key no other step of the session has. */
export function newKey(): string {
  keySeq += 1;
  return `n${keySeq}`;
}

/** A new pipeline: a name and no steps yet. */
export function emptyModel(name = "my-pipeline"): BuilderModel {
  return { top: { version: 1, name }, steps: [] };
}

/** A step's `id` when it has a text one. */
export function stepId(s: BuilderStep): string {
  return typeof s.step.id === "string" ? s.step.id : "";
}

/** A step's `needs` as text ids (other values are left to validation). */
export function stepNeeds(s: BuilderStep): string[] {
  return Array.isArray(s.step.needs) ? s.step.needs.filter((n): n is string => typeof n === "string") : [];
}

export function stepType(s: BuilderStep): string {
  return typeof s.step.type === "string" ? s.step.type : "";
}

/**
 * Reads a pipeline file into the builder. Any YAML mapping is accepted, valid or not, so a file with errors
 * opens and shows them; positions come from the layered layout, except for steps of `previous` with the
 * same id, which keep theirs (the YAML tab edits the file without moving the nodes).
 */
export function importYaml(text: string, previous?: BuilderModel): ImportResult {
  let raw: unknown;
  try {
    raw = parse(text, { maxAliasCount: 1000 });
  } catch (err) {
    return { ok: false, message: `the YAML does not parse: ${(err as Error).message.split("\n")[0]}` };
  }
  if (!isRecord(raw)) return { ok: false, message: "the file is not a mapping with version, name and steps" };
  const { steps, ...top } = raw;
  const list = Array.isArray(steps) ? steps : [];
  const byId = new Map((previous?.steps ?? []).map((s) => [stepId(s), s]));
  const used = new Set<string>();
  const model: BuilderModel = {
    top,
    steps: list.map((s) => {
      const step: Record<string, unknown> = isRecord(s) ? s : { value: s };
      const before = typeof step.id === "string" ? byId.get(step.id) : undefined;
      const keep = before && !used.has(before.key);
      if (keep) used.add(before.key);
      return { key: keep ? before.key : newKey(), step, position: keep ? before.position : { x: 0, y: 0 } };
    }),
  };
  const placed = new Set(used);
  const layout = layeredLayout(model);
  for (const s of model.steps) if (!placed.has(s.key)) s.position = layout.get(s.key) ?? s.position;
  return { ok: true, model };
}

/** Drops undefined values, so the YAML holds only what was set. */
function clean(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(clean);
  if (!isRecord(value)) return value;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) {
    if (v === undefined) continue;
    out[k] = clean(v);
  }
  return out;
}

/** The model as the pipeline spec (not yet validated): what stringifyPipeline writes. */
export function modelToSpec(model: BuilderModel): Record<string, unknown> {
  return clean({ ...model.top, steps: model.steps.map((s) => s.step) }) as Record<string, unknown>;
}

/** The model as canonical YAML (positions are not part of it). */
export function modelToYaml(model: BuilderModel): string {
  return stringifyPipeline(modelToSpec(model) as Parameters<typeof stringifyPipeline>[0]);
}

/**
 * Stages of the needs graph as validatePipeline orders them (a step after all it needs, ids sorted in a
 * stage), tolerant of mistakes: needs naming no step are ignored and steps caught in a cycle go last.
 */
export function stages(model: BuilderModel): string[][] {
  const keysById = new Map<string, string>();
  for (const s of model.steps) if (!keysById.has(stepId(s))) keysById.set(stepId(s), s.key);
  const needsOf = new Map(
    model.steps.map((s) => [s.key, stepNeeds(s).flatMap((n) => (keysById.has(n) && keysById.get(n) !== s.key ? [keysById.get(n)!] : []))]),
  );
  const labelOf = new Map(model.steps.map((s, i) => [s.key, `${stepId(s)}\u0000${String(i).padStart(6, "0")}`]));
  const done = new Set<string>();
  let left = model.steps.map((s) => s.key);
  const out: string[][] = [];
  while (left.length > 0) {
    let layer = left.filter((k) => needsOf.get(k)!.every((n) => done.has(n)));
    if (layer.length === 0) layer = left; // a cycle: the rest in one stage, validation names it
    layer.sort((a, b) => labelOf.get(a)!.localeCompare(labelOf.get(b)!));
    for (const k of layer) done.add(k);
    out.push(layer);
    left = left.filter((k) => !done.has(k));
  }
  return out;
}

/** Stages in run order from top to bottom, the steps of each side by side and centred: node key → position. */
export function layeredLayout(model: BuilderModel): Map<string, Position> {
  const out = new Map<string, Position>();
  const layers = stages(model);
  const widest = Math.max(1, ...layers.map((l) => l.length));
  for (const [y, layer] of layers.entries()) {
    const offset = ((widest - layer.length) * SIBLING_GAP) / 2;
    for (const [x, key] of layer.entries()) out.set(key, { x: offset + x * SIBLING_GAP, y: y * STAGE_GAP });
  }
  return out;
}

/** The model with every node moved to its place in the layered layout. */
export function relayout(model: BuilderModel): BuilderModel {
  const pos = layeredLayout(model);
  return { ...model, steps: model.steps.map((s) => ({ ...s, position: pos.get(s.key) ?? s.position })) };
}

export interface Edge {
  id: string;
  /** The key of the step that runs first. */
  source: string;
  /** The key of the step that needs it. */
  target: string;
}

/** One edge per `needs` entry that names a step of the model: from the step needed to the step needing it. */
export function modelEdges(model: BuilderModel): Edge[] {
  const keysById = new Map<string, string>();
  for (const s of model.steps) if (!keysById.has(stepId(s))) keysById.set(stepId(s), s.key);
  const edges: Edge[] = [];
  for (const s of model.steps) {
    for (const need of new Set(stepNeeds(s))) {
      const source = keysById.get(need);
      if (source) edges.push({ id: `${source}->${s.key}`, source, target: s.key });
    }
  }
  return edges;
}

const mapStep = (model: BuilderModel, key: string, f: (s: BuilderStep) => BuilderStep): BuilderModel => ({
  ...model,
  steps: model.steps.map((s) => (s.key === key ? f(s) : s)),
});

/** An id for a new step of `type` that no step has yet: `train`, then `train_2`... */
export function freeStepId(model: BuilderModel, type: string): string {
  const taken = new Set(model.steps.map(stepId));
  const base = type.replace(/[^a-z0-9_]/g, "_").replace(/^[^a-z]+/, "") || "step";
  if (!taken.has(base)) return base;
  for (let n = 2; ; n++) if (!taken.has(`${base}_${n}`)) return `${base}_${n}`;
}

/** Adds a step of `type` with an unused id, empty inputs and, without `position`, a place below the lowest step. */
export function addStep(model: BuilderModel, type: StepType, position?: Position): { model: BuilderModel; key: string } {
  const key = newKey();
  const at =
    position ??
    (() => {
      const lowest = Math.max(-STAGE_GAP, ...model.steps.map((s) => s.position.y));
      const left = Math.min(0, ...model.steps.map((s) => s.position.x));
      return { x: left, y: lowest + STAGE_GAP };
    })();
  const step = { id: freeStepId(model, type), type, with: {} };
  return { model: { ...model, steps: [...model.steps, { key, step, position: at }] }, key };
}

/** Removes a step and every `needs` entry naming it. */
export function removeStep(model: BuilderModel, key: string): BuilderModel {
  const gone = model.steps.find((s) => s.key === key);
  if (!gone) return model;
  const id = stepId(gone);
  return {
    ...model,
    steps: model.steps
      .filter((s) => s.key !== key)
      .map((s) =>
        stepNeeds(s).includes(id)
          ? {
              ...s,
              step: withNeeds(
                s.step,
                stepNeeds(s).filter((n) => n !== id),
              ),
            }
          : s,
      ),
  };
}

function withNeeds(step: Record<string, unknown>, needs: string[]): Record<string, unknown> {
  const { needs: _, ...rest } = step;
  // `needs` sits after id and type, as stringifyPipeline orders it anyway.
  return needs.length === 0 ? rest : { ...rest, needs };
}

/** `target` runs after `source` (an edge drawn from source to target); nothing changes for a loop onto itself. */
export function connect(model: BuilderModel, sourceKey: string, targetKey: string): BuilderModel {
  const source = model.steps.find((s) => s.key === sourceKey);
  if (!source || sourceKey === targetKey) return model;
  const id = stepId(source);
  return mapStep(model, targetKey, (s) => (stepNeeds(s).includes(id) ? s : { ...s, step: withNeeds(s.step, [...stepNeeds(s), id]) }));
}

/** Removes `source` from the needs of `target`. */
export function disconnect(model: BuilderModel, sourceKey: string, targetKey: string): BuilderModel {
  const source = model.steps.find((s) => s.key === sourceKey);
  if (!source) return model;
  const id = stepId(source);
  return mapStep(model, targetKey, (s) => ({
    ...s,
    step: withNeeds(
      s.step,
      stepNeeds(s).filter((n) => n !== id),
    ),
  }));
}

/**
 * Sets a field of a step (`undefined` removes it). Renaming a step's `id` renames it in the needs and the
 * `${{ steps.ID.outputs... }}` references of the other steps, so the graph stays connected.
 */
export function setStepField(model: BuilderModel, key: string, field: string, value: unknown): BuilderModel {
  const before = model.steps.find((s) => s.key === key);
  if (!before) return model;
  let next = mapStep(model, key, (s) => ({ ...s, step: setKey(s.step, field, value) }));
  const oldId = stepId(before);
  if (field === "id" && typeof value === "string" && oldId !== "" && value !== oldId) {
    const pattern = new RegExp(`(\\$\\{\\{\\s*steps\\.)${oldId.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}(\\.outputs\\.)`, "g");
    const rename = (v: unknown): unknown =>
      typeof v === "string"
        ? v.replace(pattern, `$1${value}$2`)
        : Array.isArray(v)
          ? v.map(rename)
          : isRecord(v)
            ? Object.fromEntries(Object.entries(v).map(([k, x]) => [k, rename(x)]))
            : v;
    next = {
      ...next,
      steps: next.steps.map((s) => {
        if (s.key === key) return s;
        const needs = stepNeeds(s);
        let step = needs.includes(oldId)
          ? withNeeds(
              s.step,
              needs.map((n) => (n === oldId ? value : n)),
            )
          : s.step;
        step = {
          ...step,
          ...(step.with !== undefined ? { with: rename(step.with) } : {}),
          ...(step.if !== undefined ? { if: rename(step.if) } : {}),
        };
        return { ...s, step };
      }),
    };
  }
  return next;
}

/** Sets one input of a step's `with` (`undefined` removes it). */
export function setStepInput(model: BuilderModel, key: string, input: string, value: unknown): BuilderModel {
  return mapStep(model, key, (s) => ({
    ...s,
    step: setKey(s.step, "with", setKey(isRecord(s.step.with) ? s.step.with : {}, input, value)),
  }));
}

/** Sets a top-level field (name, description, params, schedule...); `undefined` removes it. */
export function setTopField(model: BuilderModel, field: string, value: unknown): BuilderModel {
  return { ...model, top: setKey(model.top, field, value) };
}

export function moveStep(model: BuilderModel, key: string, position: Position): BuilderModel {
  return mapStep(model, key, (s) => ({ ...s, position }));
}

function setKey(obj: Record<string, unknown>, key: string, value: unknown): Record<string, unknown> {
  if (value === undefined) {
    const { [key]: _, ...rest } = obj;
    return rest;
  }
  return { ...obj, [key]: value };
}

/** The references a step may use: the params, the outputs of every step it runs after, and the run's own. */
export function referencesFor(model: BuilderModel, key: string): string[] {
  const params = isRecord(model.top.params) ? Object.keys(model.top.params) : [];
  const byId = new Map(model.steps.map((s) => [stepId(s), s]));
  const self = model.steps.find((s) => s.key === key);
  const upstream: BuilderStep[] = [];
  const seen = new Set<string>([self ? stepId(self) : ""]);
  const toVisit = self ? [...stepNeeds(self)] : [];
  while (toVisit.length > 0) {
    const id = toVisit.shift()!;
    const s = byId.get(id);
    if (seen.has(id) || !s) continue;
    seen.add(id);
    upstream.push(s);
    toVisit.push(...stepNeeds(s));
  }
  const outputs = upstream.flatMap((s) => {
    const info = STEP_TYPES[stepType(s) as StepType];
    return info ? info.outputs.map((o) => `\${{ steps.${stepId(s)}.outputs.${o} }}`) : [];
  });
  return [...params.map((p) => `\${{ params.${p} }}`), ...outputs, "${{ run.id }}", "${{ run.started_at }}"];
}

/** Validation errors split by where they show: on a step's node (by key) or in the file's panel. */
export interface PlacedErrors {
  byStep: Map<string, PipelineError[]>;
  file: PipelineError[];
}

/** Places each error on the step its path points into (`["steps", 2, ...]`), else on the file. */
export function placeErrors(model: BuilderModel, errors: readonly PipelineError[]): PlacedErrors {
  const byStep = new Map<string, PipelineError[]>();
  const file: PipelineError[] = [];
  for (const e of errors) {
    const index = e.path[0] === "steps" && typeof e.path[1] === "number" ? e.path[1] : undefined;
    const step =
      index !== undefined ? model.steps[index] : e.step !== undefined ? model.steps.find((s) => stepId(s) === e.step) : undefined;
    if (step) byStep.set(step.key, [...(byStep.get(step.key) ?? []), e]);
    else file.push(e);
  }
  return { byStep, file };
}

/** The field of a step an error is about: `with.dataset`, `retry.count`, `id`... ("" for the step as a whole). */
export function errorField(e: PipelineError): string {
  return e.path[0] === "steps" ? e.path.slice(2).map(String).join(".") : "";
}
