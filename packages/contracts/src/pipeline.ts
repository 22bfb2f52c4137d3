import { Cron } from "croner";
import { z } from "zod";
import { TaskId } from "./catalog.ts";

/**
 * The pipeline spec (version 1): a YAML file kept in git that names steps, their inputs and the
 * steps they run after, plus params, a schedule and triggers. `PipelineSpec` is the whole file;
 * `STEP_TYPES` describes each step type (its inputs, outputs and purpose) for validation, docs
 * and the visual builder's forms. pipeline.validate.ts parses and checks a file.
 */

export const PIPELINE_SPEC_VERSION = 1;

/** A `${{ ... }}` expression making up the whole value. */
export const WHOLE_REFERENCE = /^\$\{\{[^{}]*\}\}$/;
/** Every `${{ ... }}` expression inside a string. */
export const REFERENCE_IN_TEXT = /\$\{\{([^{}]*)\}\}/g;

/** A whole-string reference, e.g. `${{ steps.train.outputs.run_id }}`. */
export const PipelineReference = z
  .string()
  .regex(WHOLE_REFERENCE, `expected a reference such as \${{ params.NAME }} or \${{ steps.ID.outputs.NAME }}`)
  .describe(`a reference: \${{ params.NAME }}, \${{ steps.ID.outputs.NAME }}, \${{ run.id }} or \${{ run.started_at }}`);

/** A value of `schema` (described by `what`), or a whole-string reference that supplies it when the pipeline runs. */
export function refOr<T extends z.ZodType>(schema: T, what: string) {
  const message = `expected ${what} or a \${{ ... }} reference`;
  return z.union([schema, z.string().regex(WHOLE_REFERENCE, message).describe(PipelineReference.description!)], { error: message });
}

export const PipelineName = z
  .string()
  .min(1)
  .max(64)
  .regex(/^[A-Za-z0-9][A-Za-z0-9_.-]*$/, "use letters, digits, '_', '-' and '.', starting with a letter or digit");

export const StepId = z
  .string()
  .regex(/^[a-z][a-z0-9_]{0,63}$/, "use lowercase letters, digits and '_', starting with a letter, at most 64");

export const ParamName = z
  .string()
  .regex(/^[A-Za-z_][A-Za-z0-9_]{0,63}$/, "use letters, digits and '_', starting with a letter or '_', at most 64");

/** 90s, 30m, 2h. */
export const StepDuration = z.string().regex(/^[1-9][0-9]*[smh]$/, "use a whole number followed by s, m or h, e.g. 90s, 30m or 2h");

/** Seconds in a StepDuration (or a day count such as "1d"), e.g. "30m" -> 1800. */
export function durationSeconds(d: string): number {
  const n = Number(d.slice(0, -1));
  return n * ({ s: 1, m: 60, h: 3600, d: 86_400 } as const)[d.slice(-1) as "s" | "m" | "h" | "d"];
}

// ---------------------------------------------------------------- step inputs

const Name = z.string().min(1);
const Version = refOr(z.number().int().min(1), "a version number (1 or more)").describe("a version number, or a reference to one");

/** A refinement adding an issue when not exactly one of `keys` is given. */
function exactlyOne(keys: readonly string[], what: string) {
  return (value: Record<string, unknown>, ctx: z.RefinementCtx) => {
    const given = keys.filter((k) => value[k] !== undefined);
    if (given.length === 1) return;
    ctx.addIssue({
      code: "custom",
      path: given.length === 0 ? [] : [given[1] as string],
      message:
        given.length === 0
          ? `${what} needs one of ${keys.join(", ")}; add one`
          : `${what} takes only one of ${keys.join(", ")} but has ${given.join(" and ")}; keep one`,
      params: { code: given.length === 0 ? "missing_input" : "conflicting_inputs" },
    });
  };
}

const ImportWith = z
  .strictObject({
    dataset: Name.describe("the dataset that receives the new version"),
    connection: Name.optional().describe("the connection to read from (table, query and object need one)"),
    table: Name.optional().describe("a table of the connection (schema.table)"),
    query: Name.optional().describe("one read-only SELECT statement run on the connection"),
    object: Name.optional().describe("an object key or glob of an S3, Azure or GCS connection"),
    file: Name.optional().describe("a file on the caretflow server"),
    incremental: Name.optional().describe("append only rows whose column is above the last value imported"),
  })
  .superRefine((w, ctx) => {
    exactlyOne(["table", "query", "object", "file"], "import")(w, ctx);
    const source = (["table", "query", "object"] as const).find((k) => w[k] !== undefined);
    if (source && w.connection === undefined) {
      ctx.addIssue({
        code: "custom",
        path: ["connection"],
        message: `import with ${source} needs connection; add the name of the connection to read from`,
        params: { code: "missing_input" },
      });
    }
  });

const QualityCheckWith = z.strictObject({
  dataset: Name.describe("the dataset to check"),
  version: Version.optional().describe("the version to check; the latest when left out"),
});

const TransformWith = z.strictObject({
  sql: Name.describe("a SELECT over datasets, which are tables named after them"),
  output: Name.describe("the dataset that receives the result as a new version"),
});

const TrainWith = z.strictObject({
  dataset: Name.describe("the dataset to train on"),
  version: Version.optional().describe("the dataset version; the latest when left out"),
  task: TaskId.describe("the task, as in `caretflow catalog`"),
  target: Name.optional().describe("supervised tasks: the target column"),
  include: z.array(Name).optional().describe("model ids to compare; the catalog's default set when left out"),
  options: z.record(z.string(), z.unknown()).optional().describe("the task's other training options, as in the catalog"),
});

const TuneWith = z.strictObject({
  run_id: Name.describe("the run whose model is tuned"),
  n_iter: refOr(z.number().int().min(1), "a whole number of 1 or more").optional().describe("how many candidate settings to try"),
  optimize: Name.optional().describe("the metric to optimize; the task's default when left out"),
});

const EvaluateChampionWith = z.strictObject({
  run_id: Name.describe("the challenger run"),
  model: Name.describe("the registered model whose champion it is compared with"),
  alias: Name.default("champion").describe("the alias of the version it is compared with"),
  metric: Name.optional().describe("the metric compared; the task's default when left out"),
});

const RegisterWith = z.strictObject({
  run_id: Name.describe("the run whose model is registered"),
  model: Name.describe("the registered model that gets a new version"),
});

const SetAliasWith = z.strictObject({
  model: Name.describe("the registered model"),
  version: Version.describe("the model version the alias points to"),
  alias: Name.describe("the alias, e.g. champion"),
});

const BatchPredictWith = z.strictObject({
  model: Name.describe("the model: NAME@ALIAS or NAME/VERSION"),
  dataset: Name.describe("the dataset to score"),
  version: Version.optional().describe("the dataset version; the latest when left out"),
  output: Name.optional().describe("the dataset that receives the predictions; <dataset>-predictions when left out"),
});

const NotifyWith = z.strictObject({
  url: refOr(z.url({ protocol: /^https?$/ }), "an http:// or https:// URL").describe("the webhook URL that gets a POST"),
  message: Name.optional().describe("the text sent; a summary of the run when left out"),
});

const CustomWith = z
  .strictObject({
    language: z.enum(["python", "typescript"]).describe("the language of the code"),
    code: Name.optional().describe("the code itself"),
    file: Name.optional().describe("a file in the repository holding the code"),
    args: z.array(z.string()).optional().describe("arguments passed to the code"),
  })
  .superRefine(exactlyOne(["code", "file"], "custom"));

/** What the registry knows of a step type. */
export interface StepTypeInfo {
  description: string;
  /** The schema of the step's `with`. */
  with: z.ZodObject;
  /** What later steps may reference as `${{ steps.ID.outputs.NAME }}`. */
  outputs: readonly string[];
}

/** Every step type: its inputs (`with`), its outputs and what it does. */
export const STEP_TYPES = {
  import: {
    description: "import a new version of a dataset from a connection (table, query or object) or a file",
    with: ImportWith,
    outputs: ["dataset", "version"],
  },
  quality_check: {
    description: "run a dataset's quality checks on one of its versions",
    with: QualityCheckWith,
    outputs: ["passed", "report"],
  },
  transform: {
    description: "run a SQL SELECT over datasets and store the result as a new dataset version",
    with: TransformWith,
    outputs: ["dataset", "version"],
  },
  train: {
    description: "train and compare models on a dataset",
    with: TrainWith,
    outputs: ["run_id", "best_run_id", "metric"],
  },
  tune: {
    description: "tune the hyperparameters of a run's model",
    with: TuneWith,
    outputs: ["run_id", "metric"],
  },
  evaluate_champion: {
    description: "compare a run with the model version holding an alias (the champion)",
    with: EvaluateChampionWith,
    outputs: ["better", "metric", "champion_metric"],
  },
  register: {
    description: "register a run's model as a new version of a registered model",
    with: RegisterWith,
    outputs: ["model", "version"],
  },
  set_alias: {
    description: "point an alias of a registered model at one of its versions",
    with: SetAliasWith,
    outputs: [],
  },
  batch_predict: {
    description: "score a dataset with a model and store the predictions as a dataset",
    with: BatchPredictWith,
    outputs: ["dataset", "version"],
  },
  notify: {
    description: "POST a message to a webhook URL",
    with: NotifyWith,
    outputs: [],
  },
  custom: {
    description: "run your own Python or TypeScript code",
    with: CustomWith,
    outputs: ["output"],
  },
} as const satisfies Record<string, StepTypeInfo>;

export type StepType = keyof typeof STEP_TYPES;
export const StepType = z.enum(Object.keys(STEP_TYPES) as [StepType, ...StepType[]]);

/** The `with` keys a step type requires (neither optional nor defaulted). */
export function requiredInputs(type: StepType): string[] {
  const shape = STEP_TYPES[type].with.shape as Record<string, z.ZodType>;
  return Object.keys(shape).filter((k) => !shape[k]!.safeParse(undefined).success);
}

// ---------------------------------------------------------------- steps

export const StepRetry = z.strictObject({
  count: z.number().int().min(0).max(10).describe("how many times a failed attempt is retried"),
  backoff_seconds: z.number().min(0).default(10).describe("the wait before the first retry"),
  factor: z.number().min(1).default(2).describe("each further wait is the previous one times this"),
  on: z
    .array(z.enum(["transient", "any"]))
    .min(1)
    .default(["transient"])
    .describe("transient: only errors worth retrying; any: every failure"),
});

export const StepResources = z.strictObject({
  memory: z
    .string()
    .regex(/^[1-9][0-9]*(MB|GB)$/, "use a whole number followed by MB or GB, e.g. 512MB or 4GB")
    .optional()
    .describe("memory the step may use"),
  cores: z.number().int().min(1).optional().describe("CPU cores the step may use"),
});

const stepFields = {
  id: StepId.describe("unique within the pipeline; later steps reference its outputs through it"),
  needs: z.array(StepId).default([]).describe("ids of the steps this one runs after"),
  if: refOr(z.boolean(), "true, false").optional().describe("run only when this is true: a reference or a literal boolean"),
  retry: StepRetry.optional(),
  timeout: StepDuration.optional().describe("the step fails when it runs longer, e.g. 30m"),
  resources: StepResources.optional(),
};

function step<T extends StepType>(type: T) {
  return z.strictObject({ ...stepFields, type: z.literal(type), with: STEP_TYPES[type].with }).describe(STEP_TYPES[type].description);
}

export const PipelineStep = z.discriminatedUnion("type", [
  step("import"),
  step("quality_check"),
  step("transform"),
  step("train"),
  step("tune"),
  step("evaluate_champion"),
  step("register"),
  step("set_alias"),
  step("batch_predict"),
  step("notify"),
  step("custom"),
]);
export type PipelineStep = z.infer<typeof PipelineStep>;

/** A step with its own fields checked but `type` and `with` left to the step type (see pipeline.validate.ts). */
export const StepShape = z.strictObject({
  ...stepFields,
  type: z.string().min(1),
  with: z.record(z.string(), z.unknown()).optional(),
});

// ---------------------------------------------------------------- params, schedule, triggers

const ParamValue = z.union([z.string(), z.number(), z.boolean()]);
export const PipelineParam = z
  .strictObject({
    type: z.enum(["string", "number", "boolean"]),
    default: ParamValue.optional(),
    description: z.string().optional(),
  })
  .superRefine((p, ctx) => {
    if (p.default !== undefined && typeof p.default !== p.type) {
      ctx.addIssue({
        code: "custom",
        path: ["default"],
        message: `the default ${JSON.stringify(p.default)} is a ${typeof p.default} but the param is a ${p.type}; give a ${p.type} default or change its type`,
        params: { code: "param_default_type" },
      });
    }
  });
export type PipelineParam = z.infer<typeof PipelineParam>;

/** Why `cron` is not a 5- or 6-field cron expression, or null. */
export function cronProblem(cron: string): string | null {
  const fields = cron.trim().split(/\s+/).length;
  if (fields !== 5 && fields !== 6) {
    return `'${cron}' has ${fields} field${fields === 1 ? "" : "s"}; use 5 (minute hour day month weekday) or 6 (with seconds first)`;
  }
  try {
    new Cron(cron, { paused: true }).stop();
    return null;
  } catch (err) {
    return `'${cron}' is not a valid cron expression: ${(err as Error).message.replace(/^CronPattern: /, "")}`;
  }
}

/** Whether `tz` is an IANA time zone name the runtime knows. */
export function isTimeZone(tz: string): boolean {
  try {
    new Intl.DateTimeFormat("en-US", { timeZone: tz });
    return tz.trim() !== "";
  } catch {
    return false;
  }
}

export const PipelineSchedule = z.strictObject({
  cron: z
    .string()
    .superRefine((c, ctx) => {
      const problem = cronProblem(c);
      if (problem) ctx.addIssue({ code: "custom", message: problem, params: { code: "bad_cron" } });
    })
    .describe("when to run: 5 fields (minute hour day month weekday) or 6 (seconds first)"),
  timezone: z
    .string()
    .superRefine((tz, ctx) => {
      if (!isTimeZone(tz)) {
        ctx.addIssue({
          code: "custom",
          message: `'${tz}' is not a known time zone; use an IANA name such as Europe/Paris, America/New_York or UTC`,
          params: { code: "bad_timezone" },
        });
      }
    })
    .optional()
    .describe("the IANA time zone the cron expression is read in; UTC when left out"),
  missed: z
    .enum(["skip", "catch_up"])
    .default("skip")
    .describe("runs missed while caretflow was down: skip them, or run them once it is back"),
  overlap: z
    .enum(["skip", "queue", "cancel_previous"])
    .default("skip")
    .describe("when a run is due while the previous one still runs: skip it, queue it, or cancel the previous one"),
});
export type PipelineSchedule = z.infer<typeof PipelineSchedule>;

export const DatasetVersionTrigger = z.strictObject({
  dataset_version: z.strictObject({ dataset: Name.describe("run when this dataset gets a new version") }),
});
export const PipelineFinishedTrigger = z.strictObject({
  pipeline_finished: z.strictObject({
    pipeline: PipelineName.describe("run when this pipeline finishes"),
    status: z.enum(["succeeded", "failed", "any"]).default("succeeded"),
  }),
});
export const PipelineTrigger = z.union([DatasetVersionTrigger, PipelineFinishedTrigger], {
  error: "a trigger is either dataset_version: { dataset: NAME } or pipeline_finished: { pipeline: NAME, status: succeeded|failed|any }",
});
export type PipelineTrigger = z.infer<typeof PipelineTrigger>;

// ---------------------------------------------------------------- the file

const specFields = {
  version: z.literal(PIPELINE_SPEC_VERSION).describe("the spec version; 1"),
  name: PipelineName.describe("the pipeline's name"),
  description: z.string().optional(),
  params: z.record(ParamName, PipelineParam).optional().describe(`values a run may set; referenced as \${{ params.NAME }}`),
  schedule: PipelineSchedule.optional(),
  triggers: z.array(PipelineTrigger).optional().describe("events that start a run"),
};

export const PipelineSpec = z
  .strictObject({ ...specFields, steps: z.array(PipelineStep).min(1).describe("what the pipeline does") })
  .describe("a caretflow pipeline (spec version 1)");
export type PipelineSpec = z.infer<typeof PipelineSpec>;
export type PipelineSpecInput = z.input<typeof PipelineSpec>;

/** The file with each step left as it is, so steps are checked one by one. */
export const PipelineShape = z.strictObject({ ...specFields, steps: z.array(z.unknown()).min(1) });

/** Expressions a reference may hold. */
export const REFERENCE_FORMS = ["params.NAME", "steps.STEP_ID.outputs.OUTPUT", "run.id", "run.started_at"] as const;
