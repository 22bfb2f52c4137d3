import { Document, isMap, isScalar, isSeq, LineCounter, type Node, parseDocument, visit, type YAMLError } from "yaml";
import { z } from "zod";
import {
  PIPELINE_SPEC_VERSION,
  PipelineShape,
  PipelineSpec,
  type PipelineSpecInput,
  REFERENCE_FORMS,
  REFERENCE_IN_TEXT,
  requiredInputs,
  STEP_TYPES,
  StepId,
  StepShape,
  type StepType,
} from "./pipeline.ts";

/** One problem of a pipeline file, placed at its YAML node. */
/** One problem of a pipeline file: what is wrong and what to do, and where. */
export const PipelineError = z.object({
  code: z.string(),
  message: z.string(),
  path: z.array(z.union([z.string(), z.number()])).describe('where in the file, e.g. ["steps", 2, "retry", "count"]'),
  line: z.number().int().optional().describe("1-based"),
  column: z.number().int().optional().describe("1-based"),
  step: z.string().optional().describe("the id of the step it is in, when it is in one"),
  hint: z.string().optional(),
});
export type PipelineError = z.infer<typeof PipelineError>;

export type PipelineValidation = { ok: true; spec: PipelineSpec; order: string[][] } | { ok: false; errors: PipelineError[] };

/** POST /api/pipelines/validate: a pipeline file's text. */
export const PipelineValidateRequest = z.strictObject({
  yaml: z.string().max(1_000_000, "a pipeline file is at most 1 MB").describe("the pipeline file (YAML)"),
});
export type PipelineValidateRequest = z.infer<typeof PipelineValidateRequest>;

/** Whether the file is a valid pipeline; its errors (each with its place) or its run order as layers. */
export const PipelineValidateResult = z.object({
  valid: z.boolean(),
  errors: z.array(PipelineError),
  order: z.array(z.array(z.string())).describe("steps in run order; the steps of one layer may run at once"),
});
export type PipelineValidateResult = z.infer<typeof PipelineValidateResult>;

/** validatePipeline as POST /api/pipelines/validate answers it (the CLI's --json document has the same shape). */
export function pipelineValidateResult(text: string): PipelineValidateResult {
  const v = validatePipeline(text);
  return v.ok ? { valid: true, errors: [], order: v.order } : { valid: false, errors: v.errors, order: [] };
}

type Path = (string | number)[];

/** `steps[2].retry.count`. */
function formatPath(path: readonly PropertyKey[]): string {
  let out = "";
  for (const seg of path) {
    if (typeof seg === "number") out += `[${seg}]`;
    else out += out === "" ? String(seg) : `.${String(seg)}`;
  }
  return out === "" ? "the file" : out;
}

/** Edit distance with transpositions (optimal string alignment). */
function editDistance(a: string, b: string): number {
  const d: number[][] = Array.from({ length: a.length + 1 }, (_, i) =>
    Array.from({ length: b.length + 1 }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)),
  );
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let v = Math.min(d[i - 1]![j]! + 1, d[i]![j - 1]! + 1, d[i - 1]![j - 1]! + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) v = Math.min(v, d[i - 2]![j - 2]! + 1);
      d[i]![j] = v;
    }
  }
  return d[a.length]![b.length]!;
}

/** The candidate closest to `word`, when it is close enough to be a typo of it. */
function closest(word: string, candidates: Iterable<string>): string | undefined {
  let best: string | undefined;
  let bestDistance = Number.POSITIVE_INFINITY;
  for (const c of candidates) {
    const dist = editDistance(word.toLowerCase(), c.toLowerCase());
    if (dist < bestDistance) {
      best = c;
      bestDistance = dist;
    }
  }
  return best !== undefined && bestDistance <= Math.max(2, Math.floor(word.length / 3)) && bestDistance < word.length ? best : undefined;
}

const didYouMean = (word: string, candidates: Iterable<string>) => {
  const c = closest(word, candidates);
  return c === undefined ? "" : ` Did you mean '${c}'?`;
};

const aStep = (type: string) => `${/^[aeiou]/.test(type) ? "an" : "a"} ${type} step`;

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);

function valueAt(root: unknown, path: readonly PropertyKey[]): { found: boolean; value: unknown } {
  let v: unknown = root;
  for (const seg of path) {
    if (Array.isArray(v) && typeof seg === "number" && seg < v.length) v = v[seg];
    else if (isRecord(v) && typeof seg === "string" && Object.hasOwn(v, seg)) v = v[seg];
    else return { found: false, value: undefined };
  }
  return { found: true, value: v };
}

/** The object keys a schema takes at `path`, for suggesting a fix to an unknown key. */
function keysAt(schema: z.ZodType, path: readonly PropertyKey[]): string[] {
  let s: z.ZodType | undefined = schema;
  const unwrap = () => {
    while (s instanceof z.ZodOptional || s instanceof z.ZodDefault) s = s.unwrap() as z.ZodType;
  };
  for (const seg of path) {
    unwrap();
    if (s instanceof z.ZodObject) s = (s.shape as Record<string, z.ZodType>)[String(seg)];
    else if (s instanceof z.ZodArray) s = s.element as z.ZodType;
    else if (s instanceof z.ZodRecord) s = s.valueType as z.ZodType;
    else return [];
  }
  unwrap();
  return s instanceof z.ZodObject ? Object.keys(s.shape) : [];
}

const short = (v: unknown) => {
  const text = JSON.stringify(v);
  return text === undefined ? String(v) : text.length > 60 ? `${text.slice(0, 57)}...` : text;
};

const SPEC_HINT = "the fields of a pipeline are described in docs/pipelines.md";

class Checker {
  readonly errors: PipelineError[] = [];
  readonly lines: LineCounter;
  readonly doc: Document;
  readonly raw: Record<string, unknown>;

  constructor(doc: Document, lines: LineCounter, raw: Record<string, unknown>) {
    this.doc = doc;
    this.lines = lines;
    this.raw = raw;
  }

  /** Adds an error placed at the deepest node of `path` in the file. */
  add(code: string, path: Path, message: string, hint?: string): void {
    const offset = this.offsetOf(path);
    const pos = offset === undefined ? undefined : this.lines.linePos(offset);
    const stepIndex = path[0] === "steps" && typeof path[1] === "number" ? path[1] : undefined;
    const id = stepIndex === undefined ? undefined : valueAt(this.raw, ["steps", stepIndex, "id"]).value;
    this.errors.push({
      code,
      message,
      path,
      ...(pos ? { line: pos.line, column: pos.col } : {}),
      ...(typeof id === "string" ? { step: id } : {}),
      ...(hint ? { hint } : {}),
    });
  }

  /** Where the node of `path` starts: a map entry's key, a list item, or the deepest one that exists. */
  private offsetOf(path: Path): number | undefined {
    let node: unknown = this.doc.contents;
    let offset = (node as Node | null)?.range?.[0];
    for (const seg of path) {
      if (isMap(node)) {
        const pair = node.items.find((p) => String(isScalar(p.key) ? p.key.value : p.key) === String(seg));
        if (!pair) break;
        offset = (pair.key as Node | null)?.range?.[0] ?? offset;
        node = pair.value;
      } else if (isSeq(node) && typeof seg === "number" && seg < node.items.length) {
        node = node.items[seg];
        offset = (node as Node | null)?.range?.[0] ?? offset;
      } else break;
    }
    return offset;
  }

  /** Adds a zod issue under `prefix`; unknown keys get `unknownCode` and a suggestion from `root`'s keys. */
  addIssue(issue: z.core.$ZodIssue, prefix: Path, root: z.ZodType, unknownCode = "unknown_field"): void {
    const path = [...prefix, ...(issue.path as Path)];
    const where = formatPath(path);
    if (issue.code === "unrecognized_keys") {
      const known = keysAt(root, issue.path);
      for (const key of issue.keys) {
        this.add(
          unknownCode,
          [...path, key],
          `${where === "the file" ? "a pipeline" : where} has no field '${key}'.${didYouMean(key, known)} Remove it or use one of: ${known.join(", ")}`,
        );
      }
      return;
    }
    if (issue.code === "invalid_union" && issue.errors.length > 0) {
      // The member closest to matching (fewest issues) says more than "matches none".
      const sizes = issue.errors.map((e) => e.length);
      const min = Math.min(...sizes);
      if (sizes.filter((n) => n === min).length === 1) {
        for (const sub of issue.errors[sizes.indexOf(min)]!) this.addIssue(sub, path, root, unknownCode);
        return;
      }
    }
    const code = issue.code === "custom" && typeof issue.params?.code === "string" ? issue.params.code : "schema";
    const at = valueAt(this.raw, path);
    if (!at.found && issue.code === "invalid_type") {
      this.add(
        "schema",
        path,
        `${where} is missing; add it (${issue.message.replace(/^Invalid input: expected (\w+).*$/, "a $1")})`,
        SPEC_HINT,
      );
      return;
    }
    const message = issue.message.replace(/^Invalid input: /, "").replace(/^Invalid option: /, "");
    if (issue.code === "custom") this.add(code, path, message);
    else this.add(code, path, `${where} is ${short(at.value)}: ${message}; change it`, SPEC_HINT);
  }
}

/**
 * Parse and check a pipeline file: YAML syntax, the spec's schema, each step's type and inputs,
 * the needs graph and every `${{ ... }}` reference. All problems are reported, sorted by line.
 */
export function validatePipeline(text: string): PipelineValidation {
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines, prettyErrors: true });
  if (doc.errors.length > 0) return fail(yamlErrors(text, doc.errors));
  let raw: unknown;
  try {
    raw = doc.toJS({ maxAliasCount: 1000 });
  } catch (err) {
    return fail([{ code: "yaml_syntax", message: `YAML error: ${(err as Error).message}; fix the YAML`, path: [] }]);
  }
  if (!isRecord(raw)) {
    const got = raw === null || raw === undefined ? "empty" : Array.isArray(raw) ? "a list" : `a ${typeof raw}`;
    return fail([
      {
        code: "not_a_pipeline",
        message: `the file is ${got}, not a pipeline; a pipeline is a mapping with version: ${PIPELINE_SPEC_VERSION}, name and steps`,
        path: [],
        line: 1,
        column: 1,
        hint: SPEC_HINT,
      },
    ]);
  }

  const c = new Checker(doc, lines, raw);
  const top = PipelineShape.safeParse(raw);
  if (!top.success) for (const issue of top.error.issues) c.addIssue(issue, [], PipelineShape);

  const steps = Array.isArray(raw.steps) ? raw.steps : [];
  const graph = checkSteps(c, steps);
  checkReferences(c, steps, graph);

  if (c.errors.length === 0) {
    const full = PipelineSpec.safeParse(raw);
    if (full.success) return { ok: true, spec: full.data, order: pipelineOrder(full.data.steps) };
    for (const issue of full.error.issues) c.addIssue(issue, [], PipelineSpec);
  }
  return fail(c.errors);
}

/** The first YAML error of each line; a hint to quote when the line has an unquoted reference or cron. */
function yamlErrors(text: string, errors: readonly YAMLError[]): PipelineError[] {
  const sourceLines = text.split(/\r?\n/);
  const seen = new Set<number>();
  const out: PipelineError[] = [];
  for (const e of errors) {
    const pos = e.linePos?.[0];
    if (pos && seen.has(pos.line)) continue;
    if (pos) seen.add(pos.line);
    const source = pos ? (sourceLines[pos.line - 1] ?? "") : "";
    const unquoted = /:\s*(\$\{\{|\*)/.test(source) || /[{,]\s*\w+:\s*\$\{\{/.test(source);
    out.push({
      code: "yaml_syntax",
      message: `YAML syntax error: ${e.message.split("\n")[0]!.replace(/ at line \d+, column \d+:?$/, "")}; fix the YAML here`,
      path: [],
      ...(pos ? { line: pos.line, column: pos.col } : {}),
      hint: unquoted
        ? `quote values that hold \${{ ... }} or start with *, e.g. "\${{ params.NAME }}" or "*/5 * * * *"`
        : `YAML error ${e.code}`,
    });
  }
  return out;
}

function fail(errors: PipelineError[]): PipelineValidation {
  const key = (e: PipelineError) => [e.line ?? Number.MAX_SAFE_INTEGER, e.column ?? 0] as const;
  const sorted = errors
    .map((e, i) => ({ e, i }))
    .sort((a, b) => {
      const [la, ca] = key(a.e);
      const [lb, cb] = key(b.e);
      return la - lb || ca - cb || a.i - b.i;
    })
    .map(({ e }) => e);
  return { ok: false, errors: sorted };
}

interface StepNode {
  index: number;
  type: StepType | undefined;
  needs: string[];
}

/** Checks each step on its own, then the needs graph; returns the steps by id (first of each id). */
function checkSteps(c: Checker, steps: unknown[]): Map<string, StepNode> {
  const byId = new Map<string, StepNode>();
  steps.forEach((step, i) => {
    const path: Path = ["steps", i];
    if (!isRecord(step)) {
      c.add("schema", path, `${formatPath(path)} is ${short(step)}; a step is a mapping with id, type and with`, SPEC_HINT);
      return;
    }
    const shape = StepShape.safeParse(step);
    if (!shape.success) for (const issue of shape.error.issues) c.addIssue(issue, path, StepShape);

    const type = typeof step.type === "string" && Object.hasOwn(STEP_TYPES, step.type) ? (step.type as StepType) : undefined;
    if (typeof step.type === "string" && type === undefined) {
      c.add(
        "unknown_step_type",
        [...path, "type"],
        `'${step.type}' is not a step type.${didYouMean(step.type, Object.keys(STEP_TYPES))} The step types are: ${Object.keys(STEP_TYPES).join(", ")}`,
      );
    }
    if (type !== undefined) checkInputs(c, type, step, path);

    const id = typeof step.id === "string" && StepId.safeParse(step.id).success ? step.id : undefined;
    if (id === undefined) return;
    const needs = Array.isArray(step.needs) ? step.needs.filter((n): n is string => typeof n === "string") : [];
    const first = byId.get(id);
    if (first) {
      c.add(
        "duplicate_step_id",
        [...path, "id"],
        `step id '${id}' is already used by steps[${first.index}]; give each step its own id`,
        "needs and references name steps by id, so ids must be unique",
      );
      return;
    }
    byId.set(id, { index: i, type, needs });
  });

  for (const [id, node] of byId) {
    node.needs.forEach((need, k) => {
      if (!byId.has(need)) {
        c.add(
          "unknown_dependency",
          ["steps", node.index, "needs", k],
          `step '${id}' needs '${need}', which is not a step of this pipeline.${didYouMean(need, byId.keys())} Use the id of a step: ${[...byId.keys()].join(", ")}`,
        );
      }
    });
  }
  for (const cycle of findCycles(byId)) {
    const head = cycle[0]!;
    const node = byId.get(head)!;
    const last = cycle[cycle.length - 2]!;
    c.add(
      "cycle",
      ["steps", node.index, "needs", node.needs.indexOf(last)],
      `steps form a cycle: ${cycle.join(" → ")}; remove one of these needs so the steps can run in order`,
      "a step runs after the steps it needs, so needs must not loop back",
    );
  }
  return byId;
}

/** Checks a step's `with` against its type: missing and unknown inputs, then each input's value. */
function checkInputs(c: Checker, type: StepType, step: Record<string, unknown>, path: Path): void {
  const withPath: Path = [...path, "with"];
  const given = step.with === undefined || step.with === null ? {} : step.with;
  if (!isRecord(given)) return; // StepShape reported it
  const schema = STEP_TYPES[type].with;
  const shape = schema.shape as Record<string, z.ZodType>;
  const inputs = Object.keys(shape);
  const missing = requiredInputs(type).filter((k) => given[k] === undefined);
  for (const key of missing) {
    const about = shape[key]!.description;
    c.add(
      "missing_input",
      step.with === undefined ? path : withPath,
      `${aStep(type)} needs input '${key}'${about ? ` (${about})` : ""}; add it under with`,
      `${type} takes: ${inputs.join(", ")}`,
    );
  }
  for (const key of Object.keys(given)) {
    if (!inputs.includes(key)) {
      c.add(
        "unknown_input",
        [...withPath, key],
        `${aStep(type)} has no input '${key}'.${didYouMean(key, inputs)} Its inputs are: ${inputs.join(", ")}`,
      );
    }
  }
  const r = schema.safeParse(given);
  if (r.success) return;
  for (const issue of r.error.issues) {
    if (issue.code === "unrecognized_keys") continue;
    if (issue.path.length === 1 && missing.includes(String(issue.path[0]))) continue;
    c.addIssue(issue, withPath, schema, "unknown_input");
  }
}

/** Cycles of the needs graph in run order (a → b: b needs a), each once, starting at its first step in the file. */
function findCycles(byId: Map<string, StepNode>): string[][] {
  const cycles: string[][] = [];
  const seen = new Set<string>();
  const state = new Map<string, "active" | "done">();
  const stack: string[] = [];
  const visitNode = (id: string) => {
    state.set(id, "active");
    stack.push(id);
    for (const need of byId.get(id)!.needs) {
      if (!byId.has(need)) continue;
      if (state.get(need) === "active") {
        // stack from `need` to here: each needs the next, so run order is the reverse.
        const members = stack.slice(stack.indexOf(need)).reverse();
        const firstAt = members.reduce((best, m, i) => (byId.get(m)!.index < byId.get(members[best]!)!.index ? i : best), 0);
        const rotated = [...members.slice(firstAt), ...members.slice(0, firstAt)];
        const key = [...rotated].sort().join(",");
        if (!seen.has(key)) {
          seen.add(key);
          cycles.push([...rotated, rotated[0]!]);
        }
      } else if (!state.has(need)) visitNode(need);
    }
    stack.pop();
    state.set(id, "done");
  };
  for (const id of byId.keys()) if (!state.has(id)) visitNode(id);
  return cycles;
}

/** Every step `id` runs after, directly or not. */
function ancestorsOf(byId: Map<string, StepNode>, id: string): Set<string> {
  const out = new Set<string>();
  const toVisit = [...(byId.get(id)?.needs ?? [])];
  while (toVisit.length > 0) {
    const next = toVisit.pop()!;
    if (out.has(next) || !byId.has(next)) continue;
    out.add(next);
    toVisit.push(...byId.get(next)!.needs);
  }
  return out;
}

/** Checks every `${{ ... }}` in the steps' `with` and `if`. */
function checkReferences(c: Checker, steps: unknown[], byId: Map<string, StepNode>): void {
  const params = isRecord(c.raw.params) ? Object.keys(c.raw.params) : [];
  steps.forEach((step, i) => {
    if (!isRecord(step)) return;
    const self = typeof step.id === "string" ? step.id : undefined;
    const ancestors = self !== undefined && byId.get(self)?.index === i ? ancestorsOf(byId, self) : new Set<string>();
    const walk = (value: unknown, path: Path) => {
      if (typeof value === "string") checkText(value, path);
      else if (Array.isArray(value)) {
        for (const [k, v] of value.entries()) walk(v, [...path, k]);
      } else if (isRecord(value)) for (const [k, v] of Object.entries(value)) walk(v, [...path, k]);
    };
    const checkText = (text: string, path: Path) => {
      if (!text.includes("${{")) return;
      for (const m of text.matchAll(REFERENCE_IN_TEXT)) checkExpression(m[1]!.trim(), m[0], path);
      if (text.replace(REFERENCE_IN_TEXT, "").includes("${{")) {
        c.add("bad_reference", path, `${short(text)} has a \${{ without its closing }}; write references as \${{ params.NAME }}`, forms);
      }
    };
    const checkExpression = (expr: string, whole: string, path: Path) => {
      const param = /^params\.(.+)$/.exec(expr);
      if (param) {
        const name = param[1]!;
        if (!params.includes(name)) {
          c.add(
            "unknown_param",
            path,
            `${whole} uses param '${name}', which is not declared.${didYouMean(name, params)} Declare it under params${params.length ? ` (declared: ${params.join(", ")})` : ""}`,
          );
        }
        return;
      }
      const ref = /^steps\.([^.]+)\.outputs\.([^.]+)$/.exec(expr);
      if (ref) {
        const [, target, output] = ref as unknown as [string, string, string];
        const node = byId.get(target);
        if (!node) {
          c.add(
            "unknown_reference",
            path,
            `${whole} refers to step '${target}', which is not a step of this pipeline.${didYouMean(target, byId.keys())} Use the id of a step it needs`,
          );
          return;
        }
        if (target === self) {
          c.add("reference_not_upstream", path, `${whole}: a step cannot use its own outputs; use the outputs of a step it needs`);
          return;
        }
        if (!ancestors.has(target)) {
          c.add(
            "reference_not_upstream",
            path,
            `${whole}: step '${self ?? `steps[${i}]`}' uses an output of step '${target}' but does not run after it; add '${target}' to its needs`,
            "a step may only use outputs of the steps it needs, directly or through other steps",
          );
        }
        if (node.type !== undefined) {
          const outputs: readonly string[] = STEP_TYPES[node.type].outputs;
          if (!outputs.includes(output)) {
            c.add(
              "unknown_output",
              path,
              `${whole}: ${aStep(node.type)} has no output '${output}'.${didYouMean(output, outputs)} ${
                outputs.length ? `Its outputs are: ${outputs.join(", ")}` : "It has no outputs"
              }`,
            );
          }
        }
        return;
      }
      if (expr === "run.id" || expr === "run.started_at") return;
      c.add("bad_reference", path, `${whole} is not a reference caretflow knows; use one of ${REFERENCE_FORMS.join(", ")}`, forms);
    };
    walk(step.with, ["steps", i, "with"]);
    walk(step.if, ["steps", i, "if"]);
  });
}

const forms = `references are \${{ ${REFERENCE_FORMS.join(" }}, ${{ ")} }}`;

/** Run order as layers: each step comes after all it needs; a layer's steps may run together. */
export function pipelineOrder(steps: readonly { id: string; needs?: readonly string[] }[]): string[][] {
  const done = new Set<string>();
  let left = [...steps];
  const out: string[][] = [];
  while (left.length > 0) {
    const layer = left.filter((s) => (s.needs ?? []).every((n) => done.has(n)));
    if (layer.length === 0) throw new Error(`steps ${left.map((s) => s.id).join(", ")} cannot be ordered`);
    const ids = layer.map((s) => s.id).sort();
    for (const id of ids) done.add(id);
    out.push(ids);
    left = left.filter((s) => !done.has(s.id));
  }
  return out;
}

// ---------------------------------------------------------------- canonical YAML

const TOP_KEYS = ["version", "name", "description", "params", "schedule", "triggers", "steps"];
const STEP_KEYS = ["id", "type", "needs", "if", "with", "retry", "timeout", "resources"];

function ordered(value: Record<string, unknown>, keys: readonly string[]): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const k of [...keys, ...Object.keys(value)]) if (value[k] !== undefined && !(k in out)) out[k] = value[k];
  return out;
}

/**
 * The spec as canonical YAML: keys in a fixed order (a step's `with` in its type's input order),
 * empty needs left out, lists of plain values on one line.
 */
export function stringifyPipeline(spec: PipelineSpec | PipelineSpecInput): string {
  const value = ordered(spec as Record<string, unknown>, TOP_KEYS);
  if (isRecord(value.params)) {
    value.params = Object.fromEntries(
      Object.entries(value.params).map(([k, p]) => [k, ordered(p as Record<string, unknown>, ["type", "default", "description"])]),
    );
  }
  if (isRecord(value.schedule)) value.schedule = ordered(value.schedule, ["cron", "timezone", "missed", "overlap"]);
  value.steps = (spec.steps as Record<string, unknown>[]).map((s) => {
    const step = ordered(s, STEP_KEYS);
    if (Array.isArray(step.needs) && step.needs.length === 0) delete step.needs;
    const info = STEP_TYPES[step.type as StepType];
    if (info && isRecord(step.with)) step.with = ordered(step.with, Object.keys(info.with.shape));
    if (isRecord(step.retry)) step.retry = ordered(step.retry, ["count", "backoff_seconds", "factor", "on"]);
    if (isRecord(step.resources)) step.resources = ordered(step.resources, ["memory", "cores"]);
    return step;
  });
  const doc = new Document(value);
  visit(doc, {
    Seq(_, node) {
      if (node.items.every((item) => isScalar(item))) node.flow = true;
    },
  });
  return doc.toString({ lineWidth: 0, flowCollectionPadding: false });
}
