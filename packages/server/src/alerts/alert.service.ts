import { randomUUID } from "node:crypto";
import type { AddressPolicy } from "@caretflow/connectors";
import {
  type AlertEvent,
  type AlertMetricInfo,
  type AlertOperator,
  AlertPipelineAction,
  type AlertRule,
  type AlertRuleRequest,
  type AlertRuleUpdate,
  type AlertState,
  notFound,
  userError,
} from "@caretflow/contracts";
import type { Kysely, Selectable } from "kysely";
import pMap from "p-map";
import pRetry, { AbortError } from "p-retry";
import type { ServerTables } from "../db/server.tables.ts";
import { allowedAddress, postWebhook, WebhookFailure, webhookUrl } from "../http/webhook.ts";
import type { Logger } from "../ports.ts";
import type { SecretBox } from "../secrets/secret-box.ts";

/**
 * A metric alert rules can watch: its value for a deployment over a time window, or null when nothing
 * in the window gives one (no predictions, no labels). Monitoring code registers sources at start;
 * the rules know them by name only.
 */
export interface AlertMetricSource {
  info: AlertMetricInfo;
  value(q: { project: string; deployment: string; from: Date; to: Date }): Promise<number | null>;
}

/** What an alert needs of pipelines: starting a run as the trigger `alert`. */
export interface AlertPipelines {
  startRun(
    project: string,
    name: string,
    req: { params: Record<string, string | number | boolean>; force: boolean },
    by: string | null,
    trigger: { kind: "alert"; detail: string },
  ): Promise<{ id: string }>;
}

/** How long a webhook may take to answer an alert. */
const WEBHOOK_TIMEOUT_MS = 10_000;
/** Further tries of a webhook that is down or busy, the first after this many ms, each wait twice the last. */
const WEBHOOK_RETRIES = 2;
const WEBHOOK_RETRY_MS = 1000;
/** Rules a pass checks at the same time (each reads the prediction log's figures, some call a webhook). */
const RULES_AT_ONCE = 8;

type RuleRow = Selectable<ServerTables["alert_rules"]>;

export function breaches(value: number, op: AlertOperator, threshold: number): boolean {
  switch (op) {
    case ">":
      return value > threshold;
    case ">=":
      return value >= threshold;
    case "<":
      return value < threshold;
    case "<=":
      return value <= threshold;
    default: {
      const never: never = op;
      throw new Error(`unknown operator ${String(never)}`);
    }
  }
}

/**
 * Alert rules: stored per project, checked on a timer (and on request). A rule whose metric crosses its
 * threshold fires once: its state turns `firing` (claimed in one UPDATE, so servers sharing a database
 * fire it once), the webhook gets a JSON message through the address policy, and the pipeline, if any,
 * starts as trigger `alert`. It resolves (and the webhook hears of it) when the metric is back.
 * A webhook URL is sealed at rest and shown by its origin only.
 * @example const alerts = new AlertService({ db, secrets, sources, addressPolicy: () => policy, pipelines, log });
 */
export class AlertService {
  readonly #db: Kysely<ServerTables>;
  readonly #secrets: SecretBox;
  readonly #sources: Map<string, AlertMetricSource>;
  readonly #policy: () => AddressPolicy;
  readonly #pipelines: AlertPipelines;
  readonly #log: Logger;
  readonly #now: () => Date;
  #timer: NodeJS.Timeout | null = null;
  #checking: Promise<number> | null = null;

  constructor(deps: {
    db: Kysely<ServerTables>;
    secrets: SecretBox;
    sources: readonly AlertMetricSource[];
    addressPolicy: () => AddressPolicy;
    pipelines: AlertPipelines;
    log: Logger;
    now?: () => Date;
  }) {
    this.#db = deps.db;
    this.#secrets = deps.secrets;
    this.#sources = new Map(deps.sources.map((s) => [s.info.name, s]));
    this.#policy = deps.addressPolicy;
    this.#pipelines = deps.pipelines;
    this.#log = deps.log;
    this.#now = deps.now ?? (() => new Date());
  }

  /** Adds a metric source (monitoring code registers its own at start). */
  register(source: AlertMetricSource): void {
    this.#sources.set(source.info.name, source);
  }

  metrics(): AlertMetricInfo[] {
    return [...this.#sources.values()].map((s) => s.info).sort((a, b) => a.name.localeCompare(b.name));
  }

  async list(project: string): Promise<AlertRule[]> {
    const rows = await this.#db.selectFrom("alert_rules").selectAll().where("project", "=", project).orderBy("name").execute();
    return rows.map(toRule);
  }

  async get(project: string, name: string): Promise<AlertRule> {
    return toRule(await this.#row(project, name));
  }

  async create(project: string, req: AlertRuleRequest, by: string | null): Promise<AlertRule> {
    this.#source(req.metric);
    const exists = await this.#db
      .selectFrom("alert_rules")
      .select("id")
      .where("project", "=", project)
      .where("name", "=", req.name)
      .executeTakeFirst();
    if (exists) {
      throw userError(
        "alert_exists",
        `An alert rule named '${req.name}' exists already`,
        "Choose another name, or change it with PUT /api/alerts/{name}.",
        409,
      );
    }
    const id = randomUUID();
    const at = this.#now().toISOString();
    const webhook = req.webhook_url ? await this.#sealWebhook(id, req.webhook_url) : null;
    await this.#db
      .insertInto("alert_rules")
      .values({
        id,
        project,
        name: req.name,
        deployment: req.deployment,
        metric: req.metric,
        op: req.op,
        threshold: req.threshold,
        window_minutes: req.window_minutes,
        enabled: req.enabled ? 1 : 0,
        webhook_sealed: webhook?.sealed ?? null,
        webhook_origin: webhook?.origin ?? null,
        pipeline_json: req.pipeline ? JSON.stringify(req.pipeline) : null,
        state: "unknown",
        last_value: null,
        last_checked_at: null,
        last_error: null,
        created_by: by,
        created_at: at,
        updated_at: at,
      })
      .execute();
    return this.get(project, req.name);
  }

  async update(project: string, name: string, change: AlertRuleUpdate): Promise<{ before: AlertRule; after: AlertRule }> {
    const row = await this.#row(project, name);
    if (change.metric !== undefined) this.#source(change.metric);
    const webhook =
      change.webhook_url === undefined
        ? undefined
        : change.webhook_url === null
          ? { sealed: null, origin: null }
          : await this.#sealWebhook(row.id, change.webhook_url);
    // What the rule watches changed: its state starts again, so a new crossing fires.
    const watched = ["deployment", "metric", "op", "threshold", "window_minutes"].some(
      (k) => change[k as keyof AlertRuleUpdate] !== undefined,
    );
    await this.#db
      .updateTable("alert_rules")
      .set({
        ...(change.deployment !== undefined ? { deployment: change.deployment } : {}),
        ...(change.metric !== undefined ? { metric: change.metric } : {}),
        ...(change.op !== undefined ? { op: change.op } : {}),
        ...(change.threshold !== undefined ? { threshold: change.threshold } : {}),
        ...(change.window_minutes !== undefined ? { window_minutes: change.window_minutes } : {}),
        ...(change.enabled !== undefined ? { enabled: change.enabled ? 1 : 0 } : {}),
        ...(webhook ? { webhook_sealed: webhook.sealed, webhook_origin: webhook.origin } : {}),
        ...(change.pipeline !== undefined ? { pipeline_json: change.pipeline === null ? null : JSON.stringify(change.pipeline) } : {}),
        ...(watched || change.enabled === false ? { state: "unknown", last_value: null, last_error: null } : {}),
        updated_at: this.#now().toISOString(),
      })
      .where("id", "=", row.id)
      .execute();
    return { before: toRule(row), after: await this.get(project, name) };
  }

  async delete(project: string, name: string): Promise<AlertRule> {
    const row = await this.#row(project, name);
    await this.#db.deleteFrom("alert_rules").where("id", "=", row.id).execute();
    return toRule(row);
  }

  async events(project: string, q: { rule?: string; deployment?: string; limit: number }): Promise<AlertEvent[]> {
    let query = this.#db.selectFrom("alert_events").selectAll().where("project", "=", project);
    if (q.rule) query = query.where("rule", "=", q.rule);
    if (q.deployment) query = query.where("deployment", "=", q.deployment);
    const rows = await query.orderBy("at", "desc").orderBy("id").limit(q.limit).execute();
    return rows.map((r) => ({
      id: r.id,
      rule: r.rule,
      deployment: r.deployment,
      kind: r.kind as AlertEvent["kind"],
      at: r.at,
      metric: r.metric,
      value: r.value,
      threshold: r.threshold,
      op: r.op as AlertOperator,
      message: r.message,
      webhook: r.webhook,
      pipeline_run: r.pipeline_run,
      pipeline_error: r.pipeline_error,
    }));
  }

  /** Checks one rule now: its new state, and the event when it fired or resolved. */
  async check(project: string, name: string): Promise<{ rule: AlertRule; event: AlertEvent | null }> {
    const event = await this.#evaluate(await this.#row(project, name));
    return { rule: await this.get(project, name), event };
  }

  /** Checks every enabled rule of every project; returns how many fired or resolved. */
  async checkAll(): Promise<number> {
    // One pass at a time: a slow source does not pile passes up.
    if (this.#checking) return this.#checking;
    this.#checking = (async () => {
      let changed = 0;
      const rows = await this.#db.selectFrom("alert_rules").selectAll().where("enabled", "=", 1).orderBy("name").execute();
      // A few rules at a time: a webhook that is slow or tried again holds its own rule, not the others.
      await pMap(
        rows,
        async (row) => {
          try {
            if (await this.#evaluate(row)) changed++;
          } catch (err) {
            this.#log("warn", `alert rule ${row.project}/${row.name}: ${(err as Error).message}`);
          }
        },
        { concurrency: RULES_AT_ONCE },
      );
      return changed;
    })().finally(() => {
      this.#checking = null;
    });
    return this.#checking;
  }

  /** Checks every rule each `intervalMs` (default one minute). */
  start(intervalMs = 60_000): void {
    if (this.#timer) return;
    this.#timer = setInterval(
      () => void this.checkAll().catch((err: Error) => this.#log("warn", `alert checks: ${err.message}`)),
      intervalMs,
    );
    this.#timer.unref();
  }

  async close(): Promise<void> {
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = null;
    await this.#checking?.catch(() => {});
  }

  // ------------------------------------------------------------ internals

  async #row(project: string, name: string): Promise<RuleRow> {
    const row = await this.#db
      .selectFrom("alert_rules")
      .selectAll()
      .where("project", "=", project)
      .where("name", "=", name)
      .executeTakeFirst();
    if (!row) throw notFound("alert rule", name, "List the project's rules with GET /api/alerts.");
    return row;
  }

  #source(metric: string): AlertMetricSource {
    const source = this.#sources.get(metric);
    if (!source) {
      const known = [...this.#sources.keys()].sort();
      throw userError(
        "unknown_alert_metric",
        `'${metric}' is not a metric alert rules can watch`,
        known.length ? `Use one of: ${known.join(", ")} (GET /api/alert-metrics).` : "This server measures no metric for alerts yet.",
        400,
      );
    }
    return source;
  }

  /** The URL checked (scheme, no credentials, an address the policy allows) and sealed for this rule. */
  async #sealWebhook(id: string, text: string): Promise<{ sealed: string; origin: string }> {
    try {
      const url = webhookUrl(text);
      await allowedAddress(url, this.#policy());
      return { sealed: this.#secrets.seal(url.href, `alert.${id}.webhook`), origin: url.origin };
    } catch (err) {
      if (err instanceof WebhookFailure) throw userError(err.code, `webhook_url: ${err.message}`, err.hint ?? "Use another URL.", 400);
      throw err;
    }
  }

  async #evaluate(row: RuleRow): Promise<AlertEvent | null> {
    const now = this.#now();
    const source = this.#sources.get(row.metric);
    let value: number | null = null;
    let error: string | null = null;
    if (!source) error = `no source measures '${row.metric}' on this server`;
    else {
      try {
        value = await source.value({
          project: row.project,
          deployment: row.deployment,
          from: new Date(now.getTime() - row.window_minutes * 60_000),
          to: now,
        });
      } catch (err) {
        error = (err as Error).message;
      }
    }
    const op = row.op as AlertOperator;
    const next: AlertState = error !== null ? "error" : value === null ? "no_data" : breaches(value, op, row.threshold) ? "firing" : "ok";
    const base = { last_value: value, last_checked_at: now.toISOString(), last_error: error };
    // A firing rule stays firing through a window without data (or a failed check): only a value back within the threshold resolves it.
    const stored = row.state === "firing" && (next === "no_data" || next === "error") ? "firing" : next;
    // Only a change between ok and firing is an event; the state moves in one UPDATE that names the state it
    // leaves, so of servers sharing the database one records it and acts.
    const kind = next === "firing" && row.state !== "firing" ? "fired" : next === "ok" && row.state === "firing" ? "resolved" : null;
    const claimed = await this.#db
      .updateTable("alert_rules")
      .set({ ...base, state: stored })
      .where("id", "=", row.id)
      .where("state", "=", row.state)
      .executeTakeFirst();
    if (kind === null || Number(claimed.numUpdatedRows) !== 1) return null;
    return this.#act(row, kind, value, now);
  }

  async #act(row: RuleRow, kind: "fired" | "resolved", value: number | null, at: Date): Promise<AlertEvent> {
    const op = row.op as AlertOperator;
    const message =
      kind === "fired"
        ? `${row.metric} of ${row.deployment} is ${value} over the last ${row.window_minutes} min (rule ${row.name}: ${op} ${row.threshold})`
        : `${row.metric} of ${row.deployment} is back to ${value} (rule ${row.name}: ${op} ${row.threshold})`;
    const event: AlertEvent = {
      id: randomUUID(),
      rule: row.name,
      deployment: row.deployment,
      kind,
      at: at.toISOString(),
      metric: row.metric,
      value,
      threshold: row.threshold,
      op,
      message,
      webhook: null,
      pipeline_run: null,
      pipeline_error: null,
    };
    this.#log(kind === "fired" ? "warn" : "info", `alert ${row.project}/${row.name} ${kind}: ${message}`);
    if (row.webhook_sealed) event.webhook = await this.#notify(row, event);
    if (kind === "fired" && row.pipeline_json) {
      const action = AlertPipelineAction.parse(JSON.parse(row.pipeline_json));
      try {
        const run = await this.#pipelines.startRun(row.project, action.name, { params: action.params, force: false }, null, {
          kind: "alert",
          detail: `alert ${row.name} fired: ${row.metric} ${value} ${op} ${row.threshold}`,
        });
        event.pipeline_run = run.id;
      } catch (err) {
        event.pipeline_error = (err as Error).message;
      }
    }
    await this.#db
      .insertInto("alert_events")
      .values({ ...event, project: row.project, rule_id: row.id })
      .execute();
    return event;
  }

  /** POSTs the event to the rule's webhook; what happened, in words, for the event. */
  async #notify(row: RuleRow, event: AlertEvent): Promise<string> {
    try {
      const url = new URL(this.#secrets.unseal(row.webhook_sealed!, `alert.${row.id}.webhook`));
      const body = JSON.stringify({
        rule: row.name,
        project: row.project,
        state: event.kind === "fired" ? "firing" : "resolved",
        deployment: row.deployment,
        metric: row.metric,
        value: event.value,
        op: row.op,
        threshold: row.threshold,
        window_minutes: row.window_minutes,
        at: event.at,
        message: event.message,
      });
      // A receiver that is down, slow or busy (5xx, 429) is tried again; a refusal (4xx, an address the policy refuses) is not.
      let tries = 0;
      const answer = await pRetry(
        async () => {
          tries++;
          const a = await postWebhook(url, body, {
            policy: this.#policy(),
            timeoutMs: WEBHOOK_TIMEOUT_MS,
            userAgent: "caretflow-alert",
          }).catch((err: unknown) => {
            throw err instanceof WebhookFailure && err.transient ? err : new AbortError(err as Error);
          });
          if (a.status >= 500 || a.status === 429) throw new WebhookFailure("webhook_busy", `HTTP ${a.status}`, { transient: true });
          return a;
        },
        { retries: WEBHOOK_RETRIES, minTimeout: WEBHOOK_RETRY_MS, factor: 2, randomize: false },
      );
      const after = tries > 1 ? ` after ${tries} tries` : "";
      return answer.status >= 200 && answer.status < 300 ? `sent (HTTP ${answer.status})${after}` : `failed: HTTP ${answer.status}`;
    } catch (err) {
      return `failed: ${(err as Error).message}${(err as WebhookFailure).transient ? ` (tried ${WEBHOOK_RETRIES + 1} times)` : ""}`;
    }
  }
}

function toRule(row: RuleRow): AlertRule {
  return {
    name: row.name,
    project: row.project,
    deployment: row.deployment,
    metric: row.metric,
    op: row.op as AlertOperator,
    threshold: row.threshold,
    window_minutes: row.window_minutes,
    enabled: row.enabled === 1,
    webhook_origin: row.webhook_origin,
    pipeline: row.pipeline_json ? AlertPipelineAction.parse(JSON.parse(row.pipeline_json)) : null,
    state: row.state as AlertState,
    last_value: row.last_value,
    last_checked_at: row.last_checked_at,
    last_error: row.last_error,
    created_by: row.created_by,
    created_at: row.created_at,
    updated_at: row.updated_at,
  };
}
