import {
  type AlertEvent,
  AlertOperator,
  type AlertRule,
  AlertRuleRequest,
  AlertRuleUpdate,
  type ParamValue,
  userError,
} from "@caretflow/contracts";
import type { Command } from "commander";
import { InvalidArgumentError } from "commander";
import { action, type CommonOptions, type ExitState, intArg, parseFlags, withCommon } from "./common.ts";
import type { CliContext } from "./context.ts";
import { paramArg } from "./pipelines.flags.ts";
import { formatTable, formatTime } from "./table.ts";

/** `--when ">250"`, `--when "<= 0.8"`: the operator and the threshold. Pure. */
export function whenArg(value: string): { op: AlertOperator; threshold: number } {
  const m = /^\s*(>=|<=|>|<)\s*(-?\d+(?:\.\d+)?(?:e-?\d+)?)\s*$/i.exec(value);
  if (!m) throw new InvalidArgumentError(`--when takes an operator and a number, e.g. --when ">250" or --when "<0.8", got '${value}'.`);
  return { op: AlertOperator.parse(m[1]), threshold: Number(m[2]) };
}

/** `--window 15m`, `2h`, `1d` (or plain minutes): minutes. Pure. */
export function windowArg(value: string): number {
  const m = /^\s*(\d+)\s*(m|min|h|d)?\s*$/i.exec(value);
  if (!m) throw new InvalidArgumentError(`--window takes minutes, or a number with m, h or d (e.g. 15m, 2h, 1d), got '${value}'.`);
  const unit = (m[2] ?? "m").toLowerCase();
  return Number(m[1]) * (unit === "h" ? 60 : unit === "d" ? 1440 : 1);
}

/** A `--param` value as JSON would type it: true/false, a number, else the text. The pipeline checks it against its params. */
export function paramValue(raw: string): ParamValue {
  if (raw === "true" || raw === "false") return raw === "true";
  return raw.trim() !== "" && Number.isFinite(Number(raw)) ? Number(raw) : raw;
}

interface RuleFlags extends CommonOptions {
  deployment?: string;
  metric?: string;
  when?: { op: AlertOperator; threshold: number };
  window?: number;
  webhook?: string | false;
  pipeline?: string | false;
  param?: [string, string][];
  enable?: boolean;
  disable?: boolean;
}

const FLAG_OF = {
  name: "NAME",
  deployment: "--deployment",
  metric: "--metric",
  op: "--when",
  threshold: "--when",
  window_minutes: "--window",
  webhook_url: "--webhook",
  pipeline: "--pipeline",
};

function ruleFlags(cmd: Command, creating: boolean): Command {
  const c = cmd
    .option("--deployment <name>", "the deployment whose metric is watched")
    .option("--metric <name>", "the metric (caretflow alerts metrics lists them)")
    .option("--when <condition>", 'fires when the metric is past this, e.g. ">250" or "<0.8"', whenArg)
    .option("--window <duration>", "the metric is computed over this much time up to now (e.g. 15m, 1h, 1d; default 1h)", windowArg)
    .option("--webhook <url>", "POST a JSON message here when the rule fires or resolves (stored encrypted)")
    .option("--pipeline <name>", "start this pipeline when the rule fires (e.g. a retraining)")
    .option("--param <name=value>", "a param of --pipeline's run (repeatable)", paramArg);
  if (creating) return c.option("--disable", "create it disabled");
  return c
    .option("--no-webhook", "remove the webhook")
    .option("--no-pipeline", "remove the pipeline")
    .option("--enable", "check the rule again")
    .option("--disable", "stop checking the rule");
}

function pipelineOf(opts: RuleFlags): { name: string; params: Record<string, ParamValue> } | null | undefined {
  if (opts.pipeline === false) return null;
  if (opts.pipeline === undefined) {
    if (opts.param?.length) throw userError("invalid_arguments", "--param needs --pipeline", "Name the pipeline the params are for.");
    return undefined;
  }
  return { name: opts.pipeline, params: Object.fromEntries((opts.param ?? []).map(([k, v]) => [k, paramValue(v)])) };
}

export function rulesTable(rules: readonly AlertRule[]): string {
  return formatTable(
    [
      { header: "NAME" },
      { header: "DEPLOYMENT" },
      { header: "CONDITION" },
      { header: "WINDOW" },
      { header: "STATE" },
      { header: "VALUE", right: true },
      { header: "CHECKED" },
      { header: "ACTIONS" },
    ],
    rules.map((r) => [
      r.enabled ? r.name : `${r.name} (disabled)`,
      r.deployment,
      `${r.metric} ${r.op} ${r.threshold}`,
      `${r.window_minutes}m`,
      r.state === "error" && r.last_error ? `error: ${r.last_error}` : r.state,
      r.last_value === null ? "-" : String(r.last_value),
      r.last_checked_at ? formatTime(r.last_checked_at) : "-",
      [r.webhook_origin ? `webhook ${r.webhook_origin}` : "", r.pipeline ? `pipeline ${r.pipeline.name}` : ""].filter(Boolean).join(", ") ||
        "-",
    ]),
  );
}

export function eventsTable(events: readonly AlertEvent[]): string {
  return formatTable(
    [
      { header: "AT" },
      { header: "RULE" },
      { header: "KIND" },
      { header: "VALUE", right: true },
      { header: "WEBHOOK" },
      { header: "PIPELINE RUN" },
    ],
    events.map((e) => [
      formatTime(e.at),
      e.rule,
      e.kind,
      e.value === null ? "-" : String(e.value),
      e.webhook ?? "-",
      e.pipeline_run ?? (e.pipeline_error ? `failed: ${e.pipeline_error}` : "-"),
    ]),
  );
}

/**
 * `caretflow alerts list|metrics|create|update|delete|check|events`: alert rules on a deployment's
 * metrics, what each firing did, and the metrics the server can watch.
 */
export function registerAlerts(program: Command, ctx: CliContext, exit: ExitState): void {
  const alerts = program
    .command("alerts")
    .description("alert rules on deployments' metrics: a webhook and/or a pipeline run when one fires");

  withCommon(alerts.command("list").description("the project's alert rules, their state and last value")).action(
    action<CommonOptions>(ctx, exit, async (env) => {
      const { rules } = await (await env.client()).GET("/api/alerts");
      env.out.result({ rules }, () =>
        rules.length === 0 ? "no alert rules; add one with `caretflow alerts create NAME ...`" : rulesTable(rules),
      );
      return undefined;
    }),
  );

  withCommon(alerts.command("metrics").description("the metrics alert rules can watch")).action(
    action<CommonOptions>(ctx, exit, async (env) => {
      const { metrics } = await (await env.client()).GET("/api/alert-metrics");
      env.out.result({ metrics }, () =>
        metrics.length === 0
          ? "this server measures no metric for alerts yet"
          : formatTable(
              [{ header: "METRIC" }, { header: "UNIT" }, { header: "DESCRIPTION" }],
              metrics.map((m) => [m.name, m.unit, m.description]),
            ),
      );
      return undefined;
    }),
  );

  withCommon(
    ruleFlags(
      alerts
        .command("create")
        .description("add an alert rule, e.g. caretflow alerts create slow --deployment churn --metric latency_p95_ms --when '>250'")
        .argument("<name>", "rule name"),
      true,
    ),
  ).action(
    action<RuleFlags>(ctx, exit, async (env, opts, [name]) => {
      const pipeline = pipelineOf(opts);
      const body = parseFlags(
        AlertRuleRequest,
        {
          name,
          deployment: opts.deployment,
          metric: opts.metric,
          ...(opts.when ?? {}),
          ...(opts.window !== undefined ? { window_minutes: opts.window } : {}),
          ...(typeof opts.webhook === "string" ? { webhook_url: opts.webhook } : {}),
          ...(pipeline ? { pipeline } : {}),
          enabled: !opts.disable,
        },
        FLAG_OF,
      );
      const rule = await (await env.client()).POST("/api/alerts", { body });
      env.out.result(rule, () => `created alert ${rule.name}: ${rule.metric} ${rule.op} ${rule.threshold} on ${rule.deployment}`);
      return undefined;
    }),
  );

  withCommon(ruleFlags(alerts.command("update").description("change an alert rule").argument("<name>", "rule name"), false)).action(
    action<RuleFlags>(ctx, exit, async (env, opts, [name]) => {
      if (opts.enable && opts.disable) throw userError("invalid_arguments", "--enable and --disable contradict each other", "Give one.");
      const pipeline = pipelineOf(opts);
      const body = parseFlags(
        AlertRuleUpdate,
        {
          ...(opts.deployment !== undefined ? { deployment: opts.deployment } : {}),
          ...(opts.metric !== undefined ? { metric: opts.metric } : {}),
          ...(opts.when ?? {}),
          ...(opts.window !== undefined ? { window_minutes: opts.window } : {}),
          ...(opts.webhook === false ? { webhook_url: null } : typeof opts.webhook === "string" ? { webhook_url: opts.webhook } : {}),
          ...(pipeline !== undefined ? { pipeline } : {}),
          ...(opts.enable ? { enabled: true } : opts.disable ? { enabled: false } : {}),
        },
        FLAG_OF,
      );
      const rule = await (await env.client()).PUT("/api/alerts/{name}", { params: { path: { name: name! } }, body });
      env.out.result(rule, () => `updated alert ${rule.name}`);
      return undefined;
    }),
  );

  withCommon(alerts.command("delete").description("delete an alert rule (its events are kept)").argument("<name>", "rule name")).action(
    action<CommonOptions>(ctx, exit, async (env, _opts, [name]) => {
      const rule = await (await env.client()).DELETE("/api/alerts/{name}", { params: { path: { name: name! } } });
      env.out.result(rule, () => `deleted alert ${rule.name}`);
      return undefined;
    }),
  );

  withCommon(
    alerts.command("check").description("check a rule now; it fires or resolves if its state changes").argument("<name>", "rule name"),
  ).action(
    action<CommonOptions>(ctx, exit, async (env, _opts, [name]) => {
      const checked = await (await env.client()).POST("/api/alerts/{name}/check", { params: { path: { name: name! } } });
      env.out.result(checked, () => {
        const r = checked.rule;
        const now = `${r.name}: ${r.state}${r.last_value === null ? "" : ` (${r.metric} = ${r.last_value})`}${r.last_error ? `: ${r.last_error}` : ""}`;
        return checked.event ? `${now}\n${checked.event.kind}: ${checked.event.message}` : now;
      });
      return undefined;
    }),
  );

  withCommon(
    alerts
      .command("events")
      .description("alert firings and resolutions, newest first")
      .option("--rule <name>", "one rule's events")
      .option("--deployment <name>", "one deployment's events")
      .option("--limit <n>", "at most this many (default 100)", intArg("--limit", 1, 1000)),
  ).action(
    action<CommonOptions & { rule?: string; deployment?: string; limit?: number }>(ctx, exit, async (env, opts) => {
      const { events } = await (await env.client()).GET("/api/alert-events", {
        params: {
          query: {
            ...(opts.rule ? { rule: opts.rule } : {}),
            ...(opts.deployment ? { deployment: opts.deployment } : {}),
            limit: opts.limit ?? 100,
          },
        },
      });
      env.out.result({ events }, () => (events.length === 0 ? "no alert events" : eventsTable(events)));
      return undefined;
    }),
  );
}
