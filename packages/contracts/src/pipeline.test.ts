// biome-ignore-all lint/suspicious/noTemplateCurlyInString: pipeline references are written ${{ ... }}
import { readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { z } from "zod";
import { PipelineSpec, requiredInputs, STEP_TYPES } from "./pipeline.ts";
import { type PipelineError, stringifyPipeline, validatePipeline } from "./pipeline.validate.ts";

const here = dirname(fileURLToPath(import.meta.url));

/** Every step type, params, a schedule and both triggers. */
export const FULL = `version: 1
name: nightly-retrain
description: Re-import, check, retrain and promote every night
params:
  dataset: { type: string, default: sales }
  min_auc: { type: number, default: 0.8 }
  force: { type: boolean, default: false }
schedule:
  cron: "0 2 * * *"
  timezone: Europe/Paris
  missed: catch_up
  overlap: queue
triggers:
  - dataset_version: { dataset: sales }
  - pipeline_finished: { pipeline: nightly-import, status: any }
steps:
  - id: import
    type: import
    with: { dataset: "\${{ params.dataset }}", connection: warehouse, table: public.sales, incremental: updated_at }
    retry: { count: 2, backoff_seconds: 10, factor: 2, on: [transient] }
    timeout: 30m
  - id: check
    type: quality_check
    needs: [import]
    with: { dataset: "\${{ params.dataset }}", version: "\${{ steps.import.outputs.version }}" }
  - id: features
    type: transform
    needs: [import]
    with:
      sql: |
        SELECT *
        FROM sales
        WHERE amount > 0
      output: sales_clean
  - id: train
    type: train
    needs: [check, features]
    if: "\${{ params.force }}"
    with:
      dataset: "\${{ steps.features.outputs.dataset }}"
      version: "\${{ steps.features.outputs.version }}"
      task: classification
      target: churned
      include: [lr, rf]
      options: { folds: 5 }
    resources: { memory: 4GB, cores: 2 }
  - id: tune
    type: tune
    needs: [train]
    with: { run_id: "\${{ steps.train.outputs.best_run_id }}", n_iter: 20, optimize: AUC }
  - id: evaluate
    type: evaluate_champion
    needs: [tune]
    with: { run_id: "\${{ steps.tune.outputs.run_id }}", model: churn, metric: AUC }
  - id: register
    type: register
    needs: [evaluate]
    if: "\${{ steps.evaluate.outputs.better }}"
    with: { run_id: "\${{ steps.tune.outputs.run_id }}", model: churn }
  - id: promote
    type: set_alias
    needs: [register]
    with: { model: churn, version: "\${{ steps.register.outputs.version }}", alias: champion }
  - id: score
    type: batch_predict
    needs: [promote]
    with: { model: churn@champion, dataset: customers, version: 3, output: churn_scores }
  - id: report
    type: custom
    needs: [score]
    timeout: 2h
    with: { language: python, file: scripts/report.py, args: ["--run", "\${{ run.id }}"] }
  - id: done
    type: notify
    needs: [report]
    with:
      url: https://hooks.example.com/ml
      message: "run \${{ run.id }} of \${{ run.started_at }}: AUC \${{ steps.evaluate.outputs.metric }} (min \${{ params.min_auc }})"
  - id: announce
    type: notify
    with: { url: "http://hooks.example.com/start" }
`;

function errorsOf(text: string): PipelineError[] {
  const r = validatePipeline(text);
  if (r.ok) throw new Error("expected the pipeline to be invalid");
  return r.errors;
}

/** The one error with `code`, checked to be at `line`. */
function only(text: string, code: string, line: number): PipelineError {
  const errors = errorsOf(text);
  expect(errors.map((e) => e.code)).toEqual([code]);
  expect(errors[0]!.line).toBe(line);
  return errors[0]!;
}

/** A pipeline with a header on lines 1-3 and `steps` from line 4 on. */
const withSteps = (steps: string, head = "") => `version: 1\nname: p\n${head}steps:\n${steps}`;

describe("validatePipeline", () => {
  it("accepts a full pipeline and orders its steps in layers, sorted within a layer", () => {
    const r = validatePipeline(FULL);
    if (!r.ok) throw new Error(JSON.stringify(r.errors, null, 2));
    expect(r.order).toEqual([
      ["announce", "import"],
      ["check", "features"],
      ["train"],
      ["tune"],
      ["evaluate"],
      ["register"],
      ["promote"],
      ["score"],
      ["report"],
      ["done"],
    ]);
    expect(new Set(r.spec.steps.map((s) => s.type))).toEqual(new Set(Object.keys(STEP_TYPES)));
    expect(r.spec.schedule).toEqual({ cron: "0 2 * * *", timezone: "Europe/Paris", missed: "catch_up", overlap: "queue" });
    expect(r.spec.params?.min_auc).toEqual({ type: "number", default: 0.8 });
    const evaluate = r.spec.steps.find((s) => s.id === "evaluate");
    expect(evaluate?.with).toMatchObject({ alias: "champion" });
    expect(r.spec.steps.find((s) => s.id === "features")?.with).toMatchObject({ sql: "SELECT *\nFROM sales\nWHERE amount > 0\n" });
    expect(r.spec.steps.find((s) => s.id === "announce")?.needs).toEqual([]);
  });

  it("accepts the example kept in examples/pipelines (the one docs/pipelines.md shows)", () => {
    const text = readFileSync(join(here, "../../../examples/pipelines/nightly-retrain.yaml"), "utf8");
    const r = validatePipeline(text);
    expect(r.ok ? r.order : r.errors).toEqual([["import"], ["check"], ["train"], ["evaluate"], ["register"], ["promote"]]);
    const doc = readFileSync(join(here, "../../../docs/pipelines.md"), "utf8");
    expect(doc).toContain(text.split("\n").slice(1).join("\n").trim());
  });

  it("fills defaults: schedule missed/overlap skip, retry backoff, trigger status succeeded", () => {
    const r = validatePipeline(
      withSteps(
        "  - id: a\n    type: notify\n    retry: { count: 1 }\n    with: { url: https://x.example }\n",
        'schedule: { cron: "*/5 * * * *" }\ntriggers:\n  - pipeline_finished: { pipeline: other }\n',
      ),
    );
    if (!r.ok) throw new Error(JSON.stringify(r.errors));
    expect(r.spec.schedule).toEqual({ cron: "*/5 * * * *", missed: "skip", overlap: "skip" });
    expect(r.spec.triggers).toEqual([{ pipeline_finished: { pipeline: "other", status: "succeeded" } }]);
    expect(r.spec.steps[0]!.retry).toEqual({ count: 1, backoff_seconds: 10, factor: 2, on: ["transient"] });
  });

  it("yaml_syntax: a YAML error with its line and column", () => {
    const e = only("version: 1\nname: p\nsteps:\n  - id: a\n   type: notify\n", "yaml_syntax", 5);
    expect(e.column).toBeGreaterThan(0);
    expect(e.message).toMatch(/^YAML syntax error: /);
  });

  it("yaml_syntax: one error a line, with a hint to quote unquoted references and crons", () => {
    const errors = errorsOf(
      "version: 1\nname: p\nschedule: { cron: */5 * * * * }\nsteps:\n  - id: a\n    type: notify\n    with: { url: https://x.example, message: ${{ run.id }} }\n",
    );
    expect(errors.map((e) => [e.code, e.line])).toEqual([
      ["yaml_syntax", 3],
      ["yaml_syntax", 7],
    ]);
    for (const e of errors) expect(e.hint).toContain("quote values that hold ${{ ... }} or start with *");
  });

  it("yaml_syntax: a key given twice", () => {
    only("version: 1\nname: p\nname: q\nsteps: []\n", "yaml_syntax", 3);
  });

  it("not_a_pipeline: a list, a scalar or an empty file", () => {
    expect(only("- a\n- b\n", "not_a_pipeline", 1).message).toContain("the file is a list, not a pipeline");
    expect(only("hello\n", "not_a_pipeline", 1).message).toContain("a string");
    expect(only("", "not_a_pipeline", 1).message).toContain("empty");
  });

  it("schema: names the field path, e.g. steps[0].retry.count, at its line", () => {
    const e = only(withSteps("  - id: a\n    type: notify\n    with: { url: https://x.example }\n    retry: { count: 11 }\n"), "schema", 7);
    expect(e.message).toMatch(/^steps\[0\]\.retry\.count is 11: .*<=10/);
    expect(e.step).toBe("a");
    expect(e.path).toEqual(["steps", 0, "retry", "count"]);
  });

  it("schema: missing top-level fields, wrong version, bad names, ids and durations", () => {
    const errors = errorsOf(
      "version: 2\nname: 'bad name'\nsteps:\n  - id: Bad-Id\n    type: notify\n    timeout: 10 minutes\n    with: { url: https://x.example }\n",
    );
    expect(errors.map((e) => [e.code, e.line, formatted(e)])).toEqual([
      ["schema", 1, "version"],
      ["schema", 2, "name"],
      ["schema", 4, "steps[0].id"],
      ["schema", 6, "steps[0].timeout"],
    ]);
    expect(only("version: 1\nname: p\n", "schema", 1).message).toBe("steps is missing; add it (a array)");
    expect(only("version: 1\nname: p\nsteps: []\n", "schema", 3).message).toContain("steps is []");
  });

  it("unknown_field: a misspelled top-level or step key, with a suggestion", () => {
    const e = only(
      "version: 1\nname: p\nstepz: []\nsteps:\n  - id: a\n    type: notify\n    with: { url: https://x.example }\n",
      "unknown_field",
      3,
    );
    expect(e.message).toContain("Did you mean 'steps'?");
    const s = only(withSteps("  - id: a\n    type: notify\n    need: []\n    with: { url: https://x.example }\n"), "unknown_field", 6);
    expect(s.message).toContain("steps[0] has no field 'need'. Did you mean 'needs'?");
  });

  it("unknown_step_type: lists the types and suggests the closest (tarin → train)", () => {
    const e = only(withSteps("  - id: a\n    type: tarin\n    with: {}\n"), "unknown_step_type", 5);
    expect(e.message).toContain("'tarin' is not a step type. Did you mean 'train'?");
    expect(e.message).toContain(
      "import, quality_check, transform, train, tune, evaluate_champion, register, set_alias, batch_predict, notify, custom",
    );
    expect(only(withSteps("  - id: a\n    type: notfy\n    with: {}\n"), "unknown_step_type", 5).message).toContain("'notify'");
    expect(only(withSteps("  - id: a\n    type: zzzzzzzz\n    with: {}\n"), "unknown_step_type", 5).message).not.toContain("Did you mean");
  });

  it("duplicate_step_id", () => {
    const step = "  - id: a\n    type: notify\n    with: { url: https://x.example }\n";
    const e = only(withSteps(step + step), "duplicate_step_id", 7);
    expect(e.message).toContain("step id 'a' is already used by steps[0]");
  });

  it("unknown_dependency: needs names a missing step, with a suggestion", () => {
    const e = only(
      withSteps(
        "  - id: train\n    type: notify\n    with: { url: https://x.example }\n  - id: b\n    type: notify\n    needs: [trian]\n    with: { url: https://x.example }\n",
      ),
      "unknown_dependency",
      9,
    );
    expect(e.message).toContain("step 'b' needs 'trian', which is not a step of this pipeline. Did you mean 'train'?");
  });

  it("cycle: names the cycle in run order, starting at its first step", () => {
    const notify = "    type: notify\n    with: { url: https://x.example }\n";
    const e = only(withSteps(`  - id: train\n${notify}    needs: [evaluate]\n  - id: evaluate\n${notify}    needs: [train]\n`), "cycle", 7);
    expect(e.message).toBe("steps form a cycle: train → evaluate → train; remove one of these needs so the steps can run in order");
    const three = withSteps(
      `  - id: a\n${notify}    needs: [c]\n  - id: b\n${notify}    needs: [a]\n  - id: c\n${notify}    needs: [b]\n  - id: d\n${notify}    needs: [d]\n`,
    );
    expect(errorsOf(three).map((x) => [x.code, x.line, x.message.split(";")[0]])).toEqual([
      ["cycle", 7, "steps form a cycle: a → b → c → a"],
      ["cycle", 19, "steps form a cycle: d → d"],
    ]);
  });

  it("missing_input and unknown_input, with a suggestion", () => {
    const errors = errorsOf(withSteps("  - id: e\n    type: evaluate_champion\n    with:\n      run_id: r\n      modle: m\n"));
    expect(errors.map((e) => [e.code, e.line])).toEqual([
      ["missing_input", 6],
      ["unknown_input", 8],
    ]);
    expect(errors[0]!.message).toBe(
      "an evaluate_champion step needs input 'model' (the registered model whose champion it is compared with); add it under with",
    );
    expect(errors[1]!.message).toContain("has no input 'modle'. Did you mean 'model'? Its inputs are: run_id, model, alias, metric");
    const noWith = errorsOf(withSteps("  - id: a\n    type: set_alias\n"));
    expect(noWith.map((e) => [e.code, e.line, e.message.split(" (")[0]!.split(";")[0]])).toEqual([
      ["missing_input", 4, "a set_alias step needs input 'model'"],
      ["missing_input", 4, "a set_alias step needs input 'version'"],
      ["missing_input", 4, "a set_alias step needs input 'alias'"],
    ]);
  });

  it("import and custom take exactly one source; import's table needs a connection", () => {
    expect(only(withSteps("  - id: a\n    type: import\n    with: { dataset: d, table: t }\n"), "missing_input", 6).message).toContain(
      "import with table needs connection",
    );
    expect(only(withSteps("  - id: a\n    type: import\n    with: { dataset: d }\n"), "missing_input", 6).message).toContain(
      "import needs one of table, query, object, file",
    );
    expect(
      only(
        withSteps("  - id: a\n    type: custom\n    with:\n      language: python\n      code: print(1)\n      file: x.py\n"),
        "conflicting_inputs",
        9,
      ).message,
    ).toContain("has code and file; keep one");
    expect(validatePipeline(withSteps("  - id: a\n    type: import\n    with: { dataset: d, file: sales.csv }\n")).ok).toBe(true);
  });

  it("schema errors inside with: values of the wrong type and URLs", () => {
    const errors = errorsOf(
      withSteps(
        "  - id: a\n    type: notify\n    with: { url: ftp://x.example }\n  - id: b\n    type: train\n    with: { dataset: d, task: ranking, version: 0 }\n",
      ),
    );
    expect(errors.map((e) => [e.code, e.line, formatted(e)])).toEqual([
      ["schema", 6, "steps[0].with.url"],
      ["schema", 9, "steps[1].with.task"],
      ["schema", 9, "steps[1].with.version"],
    ]);
    expect(errors[0]!.message).toContain("expected an http:// or https:// URL or a ${{ ... }} reference");
  });

  it("bad_cron and bad_timezone", () => {
    const head = (cron: string, tz: string) => `schedule:\n  cron: "${cron}"\n  timezone: ${tz}\n`;
    const ok = withSteps("  - id: a\n    type: notify\n    with: { url: https://x.example }\n", head("0 2 * * *", "UTC"));
    expect(validatePipeline(ok).ok).toBe(true);
    expect(validatePipeline(ok.replace("0 2 * * *", "30 0 2 * * 1-5")).ok).toBe(true);
    expect(only(ok.replace("0 2 * * *", "0 2 * *"), "bad_cron", 4).message).toContain("has 4 fields; use 5");
    expect(only(ok.replace("0 2 * * *", "61 2 * * *"), "bad_cron", 4).message).toContain("not a valid cron expression");
    expect(only(ok.replace("0 2 * * *", "0 0 2 * * * *"), "bad_cron", 4).message).toContain("has 7 fields");
    expect(only(ok.replace("UTC", "Mars/Olympus"), "bad_timezone", 5).message).toContain("'Mars/Olympus' is not a known time zone");
  });

  it("param_default_type", () => {
    const e = only(
      withSteps(
        "  - id: a\n    type: notify\n    with: { url: https://x.example }\n",
        "params:\n  min_auc:\n    type: number\n    default: high\n",
      ),
      "param_default_type",
      6,
    );
    expect(e.message).toBe('the default "high" is a string but the param is a number; give a number default or change its type');
  });

  describe("references", () => {
    const two = (ref: string, needs = "[a]") =>
      withSteps(
        `  - id: a\n    type: train\n    with: { dataset: d, task: regression, target: y }\n  - id: b\n    type: register\n    needs: ${needs}\n    with: { model: m, run_id: "${ref}" }\n`,
        "params:\n  dataset: { type: string }\n",
      );

    it("accepts outputs of upstream steps, params and run fields, whole or inside text", () => {
      expect(validatePipeline(two("${{ steps.a.outputs.best_run_id }}")).ok).toBe(true);
      expect(validatePipeline(two("x-${{params.dataset}}-${{ run.id }}-${{ run.started_at }}")).ok).toBe(true);
    });

    it("unknown_reference: a step that does not exist", () => {
      expect(only(two("${{ steps.aa.outputs.run_id }}"), "unknown_reference", 12).message).toContain(
        "refers to step 'aa', which is not a step of this pipeline. Did you mean 'a'?",
      );
    });

    it("reference_not_upstream: a step it does not (transitively) need, or itself", () => {
      const e = only(two("${{ steps.a.outputs.run_id }}", "[]"), "reference_not_upstream", 12);
      expect(e.message).toContain("step 'b' uses an output of step 'a' but does not run after it; add 'a' to its needs");
      expect(e.step).toBe("b");
      expect(only(two("${{ steps.b.outputs.model }}"), "reference_not_upstream", 12).message).toContain("cannot use its own outputs");
      const chain = withSteps(
        "  - id: a\n    type: train\n    with: { dataset: d, task: regression, target: y }\n" +
          "  - id: b\n    type: tune\n    needs: [a]\n    with: { run_id: x }\n" +
          "  - id: c\n    type: register\n    needs: [b]\n    with: { model: m, run_id: '${{ steps.a.outputs.run_id }}' }\n",
      );
      expect(validatePipeline(chain).ok).toBe(true);
    });

    it("unknown_output: lists the step's outputs", () => {
      expect(only(two("${{ steps.a.outputs.runid }}"), "unknown_output", 12).message).toContain(
        "a train step has no output 'runid'. Did you mean 'run_id'? Its outputs are: run_id, best_run_id, metric",
      );
    });

    it("unknown_param and bad_reference", () => {
      expect(only(two("${{ params.datset }}"), "unknown_param", 12).message).toContain(
        "uses param 'datset', which is not declared. Did you mean 'dataset'? Declare it under params (declared: dataset)",
      );
      expect(only(two("${{ steps.a.run_id }}"), "bad_reference", 12).message).toContain("is not a reference caretflow knows");
      expect(only(two("${{ run.user }}"), "bad_reference", 12).code).toBe("bad_reference");
      expect(only(two("${{ run.id"), "bad_reference", 12).message).toContain("without its closing }}");
    });

    it("checks if: conditions, which are a reference or a boolean", () => {
      const step = (cond: string) => withSteps(`  - id: a\n    type: notify\n    if: ${cond}\n    with: { url: https://x.example }\n`);
      expect(validatePipeline(step("false")).ok).toBe(true);
      expect(only(step('"${{ params.go }}"'), "unknown_param", 6).path).toEqual(["steps", 0, "if"]);
      expect(only(step("maybe"), "schema", 6).message).toContain("expected true, false or a ${{ ... }} reference");
    });
  });

  it("collects every error, sorted by line", () => {
    const errors = errorsOf(
      "version: 1\nname: p\nparams:\n  n: { type: number, default: x }\nschedule: { cron: nope }\nsteps:\n" +
        "  - id: a\n    type: tarin\n    needs: [zz]\n  - id: b\n    type: register\n    with: { model: m, run_id: '${{ steps.a.outputs.run_id }}' }\n",
    );
    expect(errors.map((e) => [e.code, e.line])).toEqual([
      ["param_default_type", 4],
      ["bad_cron", 5],
      ["unknown_step_type", 8],
      ["unknown_dependency", 9],
      ["reference_not_upstream", 12],
    ]);
    for (const e of errors) expect(e.column).toBeGreaterThan(0);
  });
});

/** The path of an error as the message writes it. */
const formatted = (e: PipelineError) => e.path.map((p, i) => (typeof p === "number" ? `[${p}]` : i === 0 ? p : `.${p}`)).join("");

describe("stringifyPipeline", () => {
  it("writes canonical YAML that validates back to the same spec", () => {
    const r = validatePipeline(FULL);
    if (!r.ok) throw new Error("FULL is invalid");
    const text = stringifyPipeline(r.spec);
    const again = validatePipeline(text);
    if (!again.ok) throw new Error(`${text}\n${JSON.stringify(again.errors, null, 2)}`);
    expect(again.spec).toEqual(r.spec);
    expect(again.order).toEqual(r.order);
    expect(stringifyPipeline(again.spec)).toBe(text);
    expect(
      text
        .split("\n")
        .filter((l) => /^\S/.test(l))
        .map((l) => l.split(":")[0]),
    ).toEqual(["version", "name", "description", "params", "schedule", "triggers", "steps"]);
    expect(text).toContain("  - id: check\n    type: quality_check\n    needs: [import]\n    with:\n");
    expect(text).toContain("    if: ${{ params.force }}\n    with:\n");
    expect(text).not.toContain("needs: []");
  });

  it("orders keys however the spec was built", () => {
    const text = stringifyPipeline({
      steps: [{ with: { url: "https://x.example", message: "hi" }, type: "notify", id: "a", timeout: "1m" }],
      name: "p",
      version: 1,
    });
    expect(text).toBe(
      "version: 1\nname: p\nsteps:\n  - id: a\n    type: notify\n    with:\n      url: https://x.example\n      message: hi\n    timeout: 1m\n",
    );
  });
});

describe("the pipeline JSON Schema and the registry", () => {
  it("schemas/pipeline.v1.schema.json is the generated schema of PipelineSpec", () => {
    const file = readFileSync(join(here, "../schemas/pipeline.v1.schema.json"), "utf8");
    expect(file).toBe(`${JSON.stringify(z.toJSONSchema(PipelineSpec, { io: "input" }), null, 2)}\n`);
    const schema = JSON.parse(file);
    expect(schema.required).toEqual(["version", "name", "steps"]);
    const types = schema.properties.steps.items.oneOf ?? schema.properties.steps.items.anyOf;
    expect(types.map((t: { properties: { type: { const: string } } }) => t.properties.type.const)).toEqual(Object.keys(STEP_TYPES));
  });

  it("describes every step type and its inputs", () => {
    for (const [type, info] of Object.entries(STEP_TYPES)) {
      expect(info.description, type).not.toBe("");
      for (const [key, field] of Object.entries(info.with.shape as Record<string, z.ZodType>))
        expect(field.description, `${type}.${key}`).toBeTruthy();
    }
    expect(requiredInputs("train")).toEqual(["dataset", "task"]);
    expect(requiredInputs("evaluate_champion")).toEqual(["run_id", "model"]);
  });

  it("stays browser-safe: no node: imports", () => {
    for (const file of ["pipeline.ts", "pipeline.validate.ts"]) {
      expect(readFileSync(join(here, file), "utf8")).not.toMatch(/from "node:/);
    }
  });
});
