// biome-ignore-all lint/suspicious/noTemplateCurlyInString: pipeline references are written ${{ ... }}
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { validatePipeline } from "@caretflow/contracts";
import { describe, expect, it } from "vitest";
import {
  addStep,
  type BuilderModel,
  connect,
  disconnect,
  emptyModel,
  errorField,
  freeStepId,
  importYaml,
  layeredLayout,
  modelEdges,
  modelToYaml,
  placeErrors,
  referencesFor,
  removeStep,
  SIBLING_GAP,
  STAGE_GAP,
  setStepField,
  setStepInput,
  setTopField,
  stages,
  stepId,
} from "./pipeline.model.ts";

const example = readFileSync(fileURLToPath(new URL("../../../../../examples/pipelines/nightly-retrain.yaml", import.meta.url)), "utf8");

function load(text: string): BuilderModel {
  const r = importYaml(text);
  if (!r.ok) throw new Error(r.message);
  return r.model;
}

function spec(text: string) {
  const v = validatePipeline(text);
  if (!v.ok) throw new Error(v.errors.map((e) => `${e.line}:${e.column} ${e.code} ${e.message}`).join("\n"));
  return v;
}

const keyOf = (m: BuilderModel, id: string) => m.steps.find((s) => stepId(s) === id)!.key;

describe("the builder reads and writes the pipeline file", () => {
  it("opens the hand-written example and saves an equivalent file", () => {
    const model = load(example);
    expect(model.steps.map(stepId)).toEqual(["import", "check", "train", "evaluate", "register", "promote"]);
    const saved = modelToYaml(model);
    expect(spec(saved).spec).toEqual(spec(example).spec);
    expect(spec(saved).order).toEqual(spec(example).order);
    // positions are the builder's own: the file has no trace of them
    expect(saved).not.toMatch(/position|\bx:|\by:/);
    // saving what was saved changes nothing
    expect(modelToYaml(load(saved))).toBe(saved);
  });

  it("keeps what the file says and no more: defaults the file leaves out stay out", () => {
    const saved = modelToYaml(load(example));
    expect(saved).not.toContain("missed:");
    expect(saved).not.toContain("alias: champion\n    metric"); // evaluate's alias default is not written
    expect(saved).toContain("cron: 0 2 * * *\n  timezone: Europe/Paris\n");
    expect(saved).toContain("- dataset_version:");
  });

  it("opens a file with mistakes as written, so its errors can be shown and fixed", () => {
    const text =
      "version: 1\nname: broken\nsteps:\n  - id: a\n    type: tarin\n    with: { dataset: x }\n  - id: b\n    type: train\n    needs: [a, zz]\n";
    const model = load(text);
    expect(model.steps.map((s) => s.step.type)).toEqual(["tarin", "train"]);
    expect(modelEdges(model)).toEqual([
      { id: `${model.steps[0]!.key}->${model.steps[1]!.key}`, source: model.steps[0]!.key, target: model.steps[1]!.key },
    ]);
    const v = validatePipeline(modelToYaml(model));
    expect(v.ok).toBe(false);
    expect(v.ok ? [] : v.errors.map((e) => e.code)).toEqual(
      expect.arrayContaining(["unknown_step_type", "unknown_dependency", "missing_input"]),
    );
  });

  it.each([
    ["not YAML", "steps: [a, b", /does not parse/],
    ["a list", "- a\n- b\n", /not a mapping/],
    ["empty", "", /not a mapping/],
  ])("says why %s cannot be opened", (_, text, message) => {
    const r = importYaml(text);
    expect(r.ok).toBe(false);
    expect(r.ok ? "" : r.message).toMatch(message);
  });

  it("keeps the nodes' places when the YAML is edited, and lays out new steps", () => {
    const model = load(example);
    const moved = { ...model, steps: model.steps.map((s, i) => (i === 0 ? { ...s, position: { x: 999, y: 7 } } : s)) };
    const edited = modelToYaml(moved).replace("id: promote", "id: promote_it");
    const again = importYaml(edited, moved);
    if (!again.ok) throw new Error(again.message);
    expect(again.model.steps[0]).toMatchObject({ key: moved.steps[0]!.key, position: { x: 999, y: 7 } });
    expect(again.model.steps[5]!.key).not.toBe(moved.steps[5]!.key);
  });
});

describe("building a pipeline step by step", () => {
  it("adds, connects, configures and removes steps, giving a valid file", () => {
    let m = setTopField(emptyModel("sales-daily"), "description", "summarise and check sales");
    const a = addStep(m, "transform");
    m = a.model;
    const b = addStep(m, "quality_check");
    m = b.model;
    const c = addStep(m, "transform");
    m = c.model;
    expect(m.steps.map(stepId)).toEqual(["transform", "quality_check", "transform_2"]);
    m = connect(m, a.key, b.key);
    m = connect(m, a.key, b.key); // twice is once
    m = connect(m, b.key, c.key);
    m = connect(m, c.key, c.key); // a step cannot need itself
    m = setStepInput(m, a.key, "sql", "SELECT * FROM iris");
    m = setStepInput(m, a.key, "output", "iris-copy");
    m = setStepInput(m, b.key, "dataset", "${{ steps.transform.outputs.dataset }}");
    m = setStepInput(m, c.key, "sql", 'SELECT species, count(*) AS n FROM "iris-copy" GROUP BY species');
    m = setStepInput(m, c.key, "output", "iris-counts");
    const v = spec(modelToYaml(m));
    expect(v.order).toEqual([["transform"], ["quality_check"], ["transform_2"]]);
    expect(v.spec.steps[1]).toMatchObject({
      id: "quality_check",
      needs: ["transform"],
      with: { dataset: "${{ steps.transform.outputs.dataset }}" },
    });

    m = disconnect(m, b.key, c.key);
    expect(spec(modelToYaml(m)).order).toEqual([["transform", "transform_2"], ["quality_check"]]);

    // removing a step removes it from the needs of the others
    m = connect(m, b.key, c.key);
    m = removeStep(m, b.key);
    expect(m.steps.map((s) => s.step.needs)).toEqual([undefined, undefined]);
    expect(modelToYaml(m)).not.toContain("needs");
  });

  it("puts a step added by a click below the lowest one, and a dropped step where it was dropped", () => {
    let m = emptyModel();
    const a = addStep(m, "notify");
    m = a.model;
    const b = addStep(m, "notify");
    m = b.model;
    const c = addStep(m, "notify", { x: 500, y: 40 });
    m = c.model;
    expect(m.steps.map((s) => s.position)).toEqual([
      { x: 0, y: 0 },
      { x: 0, y: STAGE_GAP },
      { x: 500, y: 40 },
    ]);
  });

  it("renames a step in the needs and references of the others", () => {
    let m = load(example);
    m = setStepField(m, keyOf(m, "train"), "id", "fit");
    const v = spec(modelToYaml(m));
    const byId = Object.fromEntries(v.spec.steps.map((s) => [s.id, s]));
    expect(byId.evaluate).toMatchObject({ needs: ["fit"], with: { run_id: "${{ steps.fit.outputs.best_run_id }}" } });
    expect(byId.register).toMatchObject({ with: { run_id: "${{ steps.fit.outputs.best_run_id }}" } });
  });

  it("removes a field set to undefined, and an input left empty", () => {
    let m = load(example);
    const train = keyOf(m, "train");
    m = setStepField(m, train, "if", undefined);
    m = setStepInput(m, train, "target", undefined);
    const step = spec(modelToYaml(m)).spec.steps.find((s) => s.id === "train")!;
    expect(step.if).toBeUndefined();
    expect(step.with).not.toHaveProperty("target");
  });

  it.each([
    [[], "train", "train"],
    [["train"], "train", "train_2"],
    [["train", "train_2"], "train", "train_3"],
    [[], "quality_check", "quality_check"],
  ])("with steps %j a new %s step is called %s", (ids, type, expected) => {
    const m: BuilderModel = { top: {}, steps: ids.map((id, i) => ({ key: `k${i}`, step: { id, type }, position: { x: 0, y: 0 } })) };
    expect(freeStepId(m, type)).toBe(expected);
  });
});

describe("layout and references", () => {
  it("places steps in rows by run order, as validatePipeline orders them", () => {
    const text = [
      "version: 1",
      "name: fan",
      "steps:",
      "  - { id: c, type: notify, needs: [a, b], with: { url: 'https://x.test' } }",
      "  - { id: b, type: notify, with: { url: 'https://x.test' } }",
      "  - { id: a, type: notify, with: { url: 'https://x.test' } }",
      "  - { id: d, type: notify, needs: [c], with: { url: 'https://x.test' } }",
    ].join("\n");
    const m = load(text);
    const ids = (layers: string[][]) => layers.map((l) => l.map((k) => stepId(m.steps.find((s) => s.key === k)!)));
    expect(ids(stages(m))).toEqual(spec(text).order);
    const pos = layeredLayout(m);
    expect(pos.get(keyOf(m, "a"))).toEqual({ x: 0, y: 0 });
    expect(pos.get(keyOf(m, "b"))).toEqual({ x: SIBLING_GAP, y: 0 });
    // a stage of one step is centred under the wider one above it
    expect(pos.get(keyOf(m, "c"))).toEqual({ x: SIBLING_GAP / 2, y: STAGE_GAP });
    expect(pos.get(keyOf(m, "d"))).toEqual({ x: SIBLING_GAP / 2, y: 2 * STAGE_GAP });
  });

  it("lays out a cycle instead of failing: the steps in it go last", () => {
    const m = load(
      "version: 1\nname: loop\nsteps:\n  - { id: a, type: notify, needs: [b] }\n  - { id: b, type: notify, needs: [a] }\n  - { id: c, type: notify }\n",
    );
    expect(stages(m).map((l) => l.length)).toEqual([1, 2]);
  });

  it("offers the params, the outputs of the steps upstream and the run's own values", () => {
    const m = load(example);
    const refs = referencesFor(m, keyOf(m, "train"));
    expect(refs).toEqual(
      expect.arrayContaining([
        "${{ params.dataset }}",
        "${{ steps.check.outputs.passed }}",
        "${{ steps.import.outputs.version }}",
        "${{ run.id }}",
      ]),
    );
    expect(refs.some((r) => r.includes("steps.train.") || r.includes("steps.evaluate."))).toBe(false);
  });
});

describe("validation errors on the node at fault", () => {
  it("places step errors on their node and the others on the file", () => {
    const text = example.replace("type: train", "type: tarin").replace('cron: "0 2 * * *"', 'cron: "0 2 * *"');
    const m = load(text);
    const v = validatePipeline(modelToYaml(m));
    if (v.ok) throw new Error("expected errors");
    const placed = placeErrors(m, v.errors);
    expect(placed.file.map((e) => e.code)).toEqual(["bad_cron"]);
    expect([...placed.byStep.keys()]).toEqual([keyOf(m, "train")]);
    expect(placed.byStep.get(keyOf(m, "train"))!.map((e) => [e.code, errorField(e)])).toEqual([["unknown_step_type", "type"]]);
  });

  it("names the input an error is about", () => {
    let m = load(example);
    m = setStepInput(m, keyOf(m, "check"), "version", "latest");
    const v = validatePipeline(modelToYaml(m));
    if (v.ok) throw new Error("expected errors");
    const errors = placeErrors(m, v.errors).byStep.get(keyOf(m, "check"))!;
    expect(errors.map(errorField)).toEqual(["with.version"]);
  });
});
