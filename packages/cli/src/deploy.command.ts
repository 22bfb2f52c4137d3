import { readFile } from "node:fs/promises";
import { resolve } from "node:path";
import {
  CreateDeploymentRequest,
  type Deployment,
  DeploymentPredictRequest,
  type DeploymentTarget,
  DriftSchedule,
  type TrafficPolicy,
  UpdateDeploymentRequest,
  userError,
} from "@caretflow/contracts";
import { parseString } from "@fast-csv/parse";
import type { Command } from "commander";
import { action, type CommandEnv, type CommonOptions, EXIT, type ExitState, parseFlags, withCommon } from "./common.ts";
import type { CliContext } from "./context.ts";
import { registerDeployMonitoring } from "./deploy.monitor.command.ts";
import { formatTable, formatValue } from "./table.ts";

const DRIFT_EVERY = ["1h", "6h", "1d", "7d"] as const;

/**
 * `--drift-every`: a drift schedule, or `off` (null: drift checks only on demand).
 * @example driftEveryFromFlag("6h") // "6h"; driftEveryFromFlag("off") // null; driftEveryFromFlag(undefined) // undefined
 */
export function driftEveryFromFlag(value: string | undefined): DriftSchedule | undefined {
  if (value === undefined) return undefined;
  const v = value.trim().toLowerCase();
  if (v === "off") return null;
  const parsed = DriftSchedule.safeParse(v);
  if (parsed.success && parsed.data !== null) return parsed.data;
  throw userError(
    "invalid_arguments",
    `--drift-every: '${value}' is not a drift schedule`,
    `Give one of ${DRIFT_EVERY.join(", ")}, or off to check only on demand (caretflow deploy drift NAME).`,
  );
}

const DRIFT_EVERY_HELP = [
  `--drift-every <${[...DRIFT_EVERY, "off"].join("|")}>`,
  "check the logged inputs for drift against the training data this often (off: only with `caretflow deploy drift`)",
] as const;

interface PolicyFlags {
  ab?: string[];
  shadow?: string;
  canary?: string;
  ramp?: string;
}

/**
 * `M@ALIAS` or `M/VERSION` -> the model and the target.
 * @example parseModelTarget("churn@production", "--model") // { model: "churn", target: { alias: "production" } }
 */
export function parseModelTarget(value: string, flag: string): { model: string; target: DeploymentTarget } {
  const m = /^([A-Za-z0-9][A-Za-z0-9_.-]*)(?:@([A-Za-z][A-Za-z0-9_-]*)|\/(\d+))$/.exec(value.trim());
  if (!m?.[1])
    throw userError("invalid_arguments", `${flag}: '${value}' is not MODEL@ALIAS or MODEL/VERSION`, `e.g. ${flag} churn@production`);
  return { model: m[1], target: m[2] ? { alias: m[2] } : { version: Number(m[3]) } };
}

/** The same model as the deployment's: `M/2`, `M@staging`, or just `2`. */
function sameModel(value: string, model: string, flag: string): DeploymentTarget {
  if (/^\d+$/.test(value.trim())) return { version: Number(value.trim()) };
  const t = parseModelTarget(value, flag);
  if (t.model !== model)
    throw userError(
      "invalid_arguments",
      `${flag}: '${value}' names model '${t.model}', not the deployment's '${model}'`,
      "A deployment serves versions of one model.",
    );
  return t.target;
}

/**
 * The traffic policy the flags describe: --ab M/2:10 (repeatable), --shadow M/3, or --canary M/3 with
 * --ramp START:STEP:INTERVAL_S:MAX (percent, percent, seconds, percent); none: a single version.
 */
export function policyFromFlags(flags: PolicyFlags, model: string): TrafficPolicy | undefined {
  const given = [flags.ab?.length ? "--ab" : null, flags.shadow ? "--shadow" : null, flags.canary ? "--canary" : null].filter(Boolean);
  if (given.length > 1) throw userError("invalid_arguments", `${given.join(" and ")} cannot be combined`, "Choose one traffic policy.");
  if (flags.ramp && !flags.canary) throw userError("invalid_arguments", "--ramp applies to --canary", "Add --canary MODEL/VERSION.");
  if (flags.ab?.length) {
    const splits = flags.ab.map((s) => {
      const m = /^(.+):(\d+(?:\.\d+)?)$/.exec(s.trim());
      if (!m) throw userError("invalid_arguments", `--ab: '${s}' is not MODEL/VERSION:PERCENT`, "e.g. --ab churn/2:10");
      return { target: sameModel(m[1]!, model, "--ab"), weight: Number(m[2]) };
    });
    return { kind: "ab", splits };
  }
  if (flags.shadow) return { kind: "shadow", shadow: sameModel(flags.shadow, model, "--shadow") };
  if (flags.canary) {
    const ramp = flags.ramp?.split(":").map(Number);
    if (flags.ramp && (ramp?.length !== 4 || ramp.some((n) => !Number.isFinite(n))))
      throw userError("invalid_arguments", `--ramp: '${flags.ramp}' is not START:STEP:INTERVAL_S:MAX`, "e.g. --ramp 5:10:600:50");
    return {
      kind: "canary",
      canary: sameModel(flags.canary, model, "--canary"),
      ...(ramp ? { startPercent: ramp[0]!, stepPercent: ramp[1]!, intervalSeconds: ramp[2]!, maxPercent: ramp[3]! } : {}),
    } as TrafficPolicy;
  }
  return undefined;
}

const targetText = (model: string, t: DeploymentTarget) => ("alias" in t ? `${model}@${t.alias}` : `${model}/${t.version}`);

function policyText(d: Deployment): string {
  const p = d.policy;
  if (p.kind === "ab") return `A/B: ${p.splits.map((s) => `${targetText(d.model, s.target)} ${s.weight}%`).join(", ")}`;
  if (p.kind === "shadow") return `shadow: ${targetText(d.model, p.shadow)}`;
  if (p.kind === "canary")
    return `canary: ${targetText(d.model, p.canary)} from ${p.startPercent}% +${p.stepPercent}% every ${p.intervalSeconds} s up to ${p.maxPercent}%`;
  return "single";
}

function deploymentText(d: Deployment): string {
  const head = [
    `${d.name} (${d.status}): ${targetText(d.model, d.target)}, ${policyText(d)}`,
    `endpoint: POST /api/deployments/${d.name}/predict`,
    `drift checks: ${d.driftEvery ? `every ${d.driftEvery}` : "on demand"}`,
    ...(d.problem ? [`problem: ${d.problem}`] : []),
  ];
  const table = formatTable(
    [
      { header: "VERSION", right: true },
      { header: "ROLE" },
      { header: "WEIGHT", right: true },
      { header: "HEALTH" },
      { header: "PID", right: true },
      { header: "RESTARTS", right: true },
    ],
    d.serving.map((s) => [String(s.version), s.role, `${s.weight}%`, s.health, s.pid === null ? "-" : String(s.pid), String(s.restarts)]),
  );
  return [...head, table].join("\n");
}

/** Rows from a JSON file (an array, or {"rows": [...]}) or a CSV file (numbers as numbers, empty cells as null). */
export async function readRowsFile(cwd: string, name: string): Promise<unknown> {
  let text: string;
  try {
    text = await readFile(resolve(cwd, name), "utf8");
  } catch (err) {
    const missing = (err as NodeJS.ErrnoException).code === "ENOENT";
    throw userError(
      "rows_unreadable",
      missing ? `file '${name}' does not exist` : `cannot read '${name}': ${(err as Error).message}`,
      "Give a CSV file with a header row, or a JSON array of objects.",
    );
  }
  if (!name.toLowerCase().endsWith(".csv")) {
    try {
      const parsed = JSON.parse(text) as unknown;
      return Array.isArray(parsed) ? parsed : (parsed as { rows?: unknown })?.rows;
    } catch (err) {
      throw userError(
        "rows_unreadable",
        `'${name}' is not JSON: ${(err as Error).message}`,
        "Give a JSON array of objects, or a .csv file.",
      );
    }
  }
  const rows: Record<string, unknown>[] = [];
  await new Promise<void>((ok, fail) => {
    parseString(text, { headers: true, ignoreEmpty: true })
      .on("error", (err) =>
        fail(userError("rows_unreadable", `'${name}' is not valid CSV: ${err.message}`, "Give a CSV file with a header row.")),
      )
      .on("data", (r: Record<string, string>) =>
        rows.push(
          Object.fromEntries(
            Object.entries(r).map(([k, v]) => [k, v === "" ? null : v.trim() !== "" && Number.isFinite(Number(v)) ? Number(v) : v]),
          ),
        ),
      )
      .on("end", () => ok());
  });
  return rows;
}

interface DeployOptions extends CommonOptions, PolicyFlags {
  model?: string;
  target?: string;
  pause?: boolean;
  resume?: boolean;
  rows?: string;
  driftEvery?: string;
}

const POLICY_HELP = {
  ab: ["--ab <model/version:percent>", "A/B: send PERCENT of requests to that version (repeatable)"],
  shadow: ["--shadow <model/version>", "shadow: that version scores every request; its answers are logged, never returned"],
  canary: ["--canary <model/version>", "canary: that version answers a growing share (see --ramp)"],
  ramp: ["--ramp <start:step:interval_s:max>", "the canary's ramp in percent and seconds (default 5:10:600:50)"],
} as const;

function withPolicy(cmd: Command): Command {
  return cmd
    .option(POLICY_HELP.ab[0], POLICY_HELP.ab[1], (v: string, prev: string[] | undefined) => [...(prev ?? []), v])
    .option(POLICY_HELP.shadow[0], POLICY_HELP.shadow[1])
    .option(POLICY_HELP.canary[0], POLICY_HELP.canary[1])
    .option(POLICY_HELP.ramp[0], POLICY_HELP.ramp[1]);
}

const path = (name: string) => ({ params: { path: { name } } });

export function registerDeploy(program: Command, ctx: CliContext, exit: ExitState): void {
  const deploy = program.command("deploy").description("deployments: a model alias or version served at a stable endpoint");
  const run = (body: (env: CommandEnv, opts: DeployOptions, args: string[]) => Promise<number | undefined>) =>
    action<DeployOptions>(ctx, exit, body);

  withCommon(
    withPolicy(
      deploy
        .command("create")
        .description("create a deployment; it answers once its versions are loaded")
        .argument("<name>", "the deployment's name (its endpoint: /api/deployments/NAME/predict)")
        .requiredOption("--model <model@alias|model/version>", "the model and the alias (followed as it moves) or version served")
        .option(DRIFT_EVERY_HELP[0], DRIFT_EVERY_HELP[1]),
    ).addHelpText(
      "after",
      "\nExamples:\n  caretflow deploy create churn --model churn-clf@production --ab churn-clf/2:10\n  caretflow deploy create churn --model churn-clf@production --drift-every 1d\n  caretflow deploy create churn-shadow --model churn-clf@production --shadow churn-clf/3",
    ),
  ).action(
    run(async (env, opts, [name]) => {
      const { model, target } = parseModelTarget(opts.model!, "--model");
      const policy = policyFromFlags(opts, model);
      const driftEvery = driftEveryFromFlag(opts.driftEvery);
      const body = parseFlags(
        CreateDeploymentRequest,
        { name, model, target, ...(policy ? { policy } : {}), ...(driftEvery !== undefined ? { driftEvery } : {}) },
        {
          name: "NAME",
          model: "--model",
          target: "--model",
          policy: "--ab/--shadow/--canary/--ramp",
          driftEvery: "--drift-every",
        },
      );
      const d = await (await env.client()).POST("/api/deployments", { body });
      env.out.result(d, () => `created ${deploymentText(d)}`);
      return EXIT.ok;
    }),
  );

  withCommon(deploy.command("list").description("the project's deployments")).action(
    run(async (env) => {
      const { deployments } = await (await env.client()).GET("/api/deployments");
      env.out.result({ deployments }, () =>
        deployments.length === 0
          ? "no deployments; create one with `caretflow deploy create NAME --model MODEL@ALIAS`"
          : formatTable(
              [{ header: "NAME" }, { header: "TARGET" }, { header: "POLICY" }, { header: "STATUS" }, { header: "VERSIONS" }],
              deployments.map((d) => [
                d.name,
                targetText(d.model, d.target),
                policyText(d),
                d.status,
                d.serving.map((s) => `${s.version}:${s.health}`).join(" "),
              ]),
            ),
      );
      return EXIT.ok;
    }),
  );

  withCommon(deploy.command("show").description("a deployment: versions served now, weights, process health").argument("<name>")).action(
    run(async (env, _opts, [name]) => {
      const d = await (await env.client()).GET("/api/deployments/{name}", path(name!));
      env.out.result(d, () => deploymentText(d));
      return EXIT.ok;
    }),
  );

  withCommon(
    withPolicy(
      deploy
        .command("update")
        .description("change the target, the policy, the status or the drift schedule; new versions load before traffic moves")
        .argument("<name>")
        .option("--target <model@alias|model/version>", "serve another alias or version")
        .option("--single", "one version answers every request (drops A/B, shadow or canary)")
        .option("--pause", "refuse predictions (409) until resumed")
        .option("--resume", "serve again")
        .option(DRIFT_EVERY_HELP[0], DRIFT_EVERY_HELP[1])
        .addHelpText(
          "after",
          "\nExamples:\n  caretflow deploy update churn --shadow churn-clf/4\n  caretflow deploy update churn --drift-every off",
        ),
    ),
  ).action(
    run(async (env, opts, [name]) => {
      const client = await env.client();
      const current = await client.GET("/api/deployments/{name}", path(name!));
      const target = opts.target ? sameModel(opts.target, current.model, "--target") : undefined;
      const policy = (opts as { single?: boolean }).single ? ({ kind: "single" } as const) : policyFromFlags(opts, current.model);
      if (opts.pause && opts.resume) throw userError("invalid_arguments", "--pause and --resume cannot be combined", "Choose one.");
      const status = opts.pause ? "paused" : opts.resume ? "active" : undefined;
      const driftEvery = driftEveryFromFlag(opts.driftEvery);
      const body = parseFlags(
        UpdateDeploymentRequest,
        {
          ...(target ? { target } : {}),
          ...(policy ? { policy } : {}),
          ...(status ? { status } : {}),
          ...(driftEvery !== undefined ? { driftEvery } : {}),
        },
        {
          target: "--target",
          policy: "--single/--ab/--shadow/--canary",
          status: "--pause/--resume",
          driftEvery: "--drift-every",
          "": "--target, --single/--ab/--shadow/--canary, --pause/--resume or --drift-every",
        },
      );
      const d = await client.PUT("/api/deployments/{name}", { ...path(name!), body });
      env.out.result(d, () => `updated ${deploymentText(d)}`);
      return EXIT.ok;
    }),
  );

  withCommon(
    deploy.command("delete").description("delete a deployment (its prediction log stays until retention removes it)").argument("<name>"),
  ).action(
    run(async (env, _opts, [name]) => {
      const r = await (await env.client()).DELETE("/api/deployments/{name}", path(name!));
      env.out.result(r, () => `deleted deployment ${r.deleted}`);
      return EXIT.ok;
    }),
  );

  withCommon(
    deploy
      .command("predict")
      .description("score rows through a deployment")
      .argument("<name>")
      .requiredOption("--rows <file>", 'a CSV file with a header row, or a JSON array of objects (or {"rows": [...]})')
      .addHelpText("after", "\nExamples:\n  caretflow deploy predict churn --rows new-customers.csv --json"),
  ).action(
    run(async (env, opts, [name]) => {
      const rows = await readRowsFile(env.ctx.cwd, opts.rows!);
      const body = parseFlags(DeploymentPredictRequest, { rows }, { rows: "--rows" });
      const res = await (await env.client()).POST("/api/deployments/{name}/predict", { ...path(name!), body });
      env.out.result(res, () =>
        [
          `${res.deployment}: ${res.model} version ${res.version} answered ${res.predictions.length} rows in ${res.elapsedMs.toFixed(0)} ms (prediction ${res.predictionId})`,
          formatTable(
            [{ header: "ROW", right: true }, ...res.columns.map((c) => ({ header: c.toUpperCase() }))],
            res.predictions.map((p, i) => [String(i), ...res.columns.map((c) => (p[c] == null ? "-" : formatValue(p[c])))]),
          ),
        ].join("\n"),
      );
      return EXIT.ok;
    }),
  );
  registerDeployMonitoring(deploy, ctx, exit);
}
