import { randomUUID } from "node:crypto";
import {
  CaretflowError,
  type Deployment,
  type DeploymentPredictResponse,
  type DeploymentTarget,
  notFound,
  type ServingVersion,
  type TrafficPolicy,
  userError,
} from "@caretflow/contracts";
import type { LoadedVersion, ModelFeature, VersionStatus } from "@caretflow/engine-host";
import type { ResolvedModel } from "../ports.ts";
import type { StoredDeployment } from "./deployment.repository.ts";
import type { PredictionRecord } from "./prediction.log.ts";

/** The scoring processes the gateway sends requests to (DeploymentPool). */
export interface GatewayPool {
  acquire(model: { uri: string; sha256: string | null; key: string }, holder: string): Promise<LoadedVersion>;
  release(key: string, holder: string): void;
  predict(key: string, rows: Record<string, unknown>[]): Promise<{ columns: string[]; predictions: Record<string, unknown>[] }>;
  status(key: string): VersionStatus | null;
}

/** What the gateway needs from the model registry: aliases (read rarely) and a version's model file. */
export interface GatewayRegistry {
  getModel(name: string): Promise<{ aliases: Record<string, number> }>;
  resolveModelRef(ref: string): Promise<ResolvedModel>;
}

/** Told of every prediction (the Prometheus metrics, say). */
export interface PredictionObserver {
  onPrediction(p: { deployment: string; version: number; status: string; seconds: number; shadow: boolean }): void;
}

export interface GatewayOptions {
  pool: GatewayPool;
  registry: GatewayRegistry;
  /** Where predictions are logged (PredictionLog). */
  log: { add(record: PredictionRecord): void };
  observer?: PredictionObserver;
  /** How often aliases are re-read from the registry (changes made in MLflow directly). Default 30000. */
  recheckMs?: number;
  now?: () => Date;
  random?: () => number;
  logger?: (level: "info" | "warn" | "error", msg: string) => void;
}

interface Arm {
  version: number;
  key: string;
  role: ServingVersion["role"];
  features: ModelFeature[];
}

/** What a deployment sends requests to now: swapped as a whole once every version in it has loaded. */
interface Live {
  stored: StoredDeployment;
  target: Arm | null;
  others: Arm[];
  shadow: Arm | null;
  problem: string | null;
  /** Keys the pool holds for this deployment. */
  held: Set<string>;
  /** Changes are applied one after the other. */
  chain: Promise<void>;
}

const aliasKey = (model: string, alias: string) => `${model}@${alias}`;

/** The percent of requests a canary answers at `now`. */
export function canaryWeight(policy: Extract<TrafficPolicy, { kind: "canary" }>, since: string, now: Date): number {
  const steps = Math.max(0, Math.floor((now.getTime() - Date.parse(since)) / 1000 / policy.intervalSeconds));
  return Math.min(policy.maxPercent, policy.startPercent + steps * policy.stepPercent);
}

const NUMERIC = new Set(["double", "float", "long", "integer"]);

/**
 * Checks rows against the model's signature: every feature present, numbers where the model takes
 * numbers, booleans where it takes booleans, no nested values. The error names the row and the field.
 */
export function validateRows(rows: Record<string, unknown>[], features: ModelFeature[]): void {
  rows.forEach((row, i) => {
    for (const f of features) {
      if (!(f.name in row)) {
        throw userError(
          "missing_feature",
          `Row ${i} lacks the feature '${f.name}'`,
          `Give every row the features ${features.map((x) => x.name).join(", ")} (null where unknown).`,
          400,
          { field: f.name, row: i },
        );
      }
      const v = row[f.name];
      if (v === null) continue;
      const bad =
        typeof v === "object" ||
        (NUMERIC.has(f.type) && !(typeof v === "number" || (typeof v === "string" && v.trim() !== "" && Number.isFinite(Number(v))))) ||
        (f.type === "boolean" && typeof v !== "boolean");
      if (bad) {
        throw userError(
          "bad_feature_value",
          `Row ${i}: the feature '${f.name}' must be ${NUMERIC.has(f.type) ? "a number" : f.type === "boolean" ? "true or false" : `a ${f.type}`}, not ${JSON.stringify(v).slice(0, 60)}`,
          `Send a ${f.type} value (or null) for '${f.name}'.`,
          400,
          { field: f.name, row: i },
        );
      }
    }
  });
}

/**
 * The serving gateway: deployments in memory with the versions they send requests to. Aliases are
 * resolved when a deployment is set up, when caretflow moves an alias (`aliasesChanged`) and every
 * `recheckMs` (changes made in MLflow directly), never per request. A change loads the new versions
 * before traffic moves, then releases the old ones, whose processes finish what they were sent.
 */
export class ServingGateway {
  private readonly live = new Map<string, Live>();
  private readonly aliases = new Map<string, number | null>();
  private readonly timer: NodeJS.Timeout;
  private readonly now: () => Date;
  private readonly random: () => number;
  private readonly logger: NonNullable<GatewayOptions["logger"]>;
  private closed = false;

  constructor(private readonly opts: GatewayOptions) {
    this.now = opts.now ?? (() => new Date());
    this.random = opts.random ?? Math.random;
    this.logger = opts.logger ?? (() => {});
    this.timer = setInterval(() => void this.recheck(), opts.recheckMs ?? 30_000);
    this.timer.unref();
  }

  /** Sets up (or changes) a deployment; resolves once its versions are loaded and traffic follows the new setting. */
  apply(stored: StoredDeployment): Promise<void> {
    let live = this.live.get(stored.name);
    if (!live) {
      live = { stored, target: null, others: [], shadow: null, problem: "starting", held: new Set(), chain: Promise.resolve() };
      this.live.set(stored.name, live);
    }
    const l = live;
    const step = l.chain.then(() => this.swap(l, stored));
    l.chain = step.catch(() => {});
    return step;
  }

  /** Forgets a deployment: its requests stop at once, its processes close after answering. */
  remove(name: string): void {
    const l = this.live.get(name);
    if (!l) return;
    this.live.delete(name);
    for (const key of l.held) this.opts.pool.release(key, name);
    l.held.clear();
  }

  /** A model's aliases changed (through caretflow): deployments following a moved alias swap at once. */
  async aliasesChanged(model: string, aliases: Record<string, number>): Promise<void> {
    const moved = this.noteAliases(model, aliases);
    await Promise.all(
      [...this.live.values()]
        .filter((l) => l.stored.model === model && this.aliasesOf(l.stored).some((a) => moved.has(a)))
        .map((l) => this.apply(l.stored).catch(() => {})),
    );
  }

  /** Re-reads the aliases of every deployed model; deployments whose alias moved swap. */
  async recheck(): Promise<void> {
    const models = new Set([...this.live.values()].filter((l) => this.aliasesOf(l.stored).length > 0).map((l) => l.stored.model));
    for (const model of models) {
      try {
        await this.aliasesChanged(model, (await this.opts.registry.getModel(model)).aliases);
      } catch (err) {
        this.logger("warn", `could not re-read the aliases of model ${model}: ${(err as Error).message}`);
      }
    }
  }

  /** The deployment as the API shows it: what is stored, plus versions, weights and process health now. */
  describe(stored: StoredDeployment): Deployment {
    const l = this.live.get(stored.name);
    if (!l) return { ...stored, serving: [], problem: "not loaded" };
    const weights = this.weights(l);
    const serving = [...(l.target ? [l.target] : []), ...l.others, ...(l.shadow ? [l.shadow] : [])].map((arm, i) => {
      const s = this.opts.pool.status(arm.key);
      return {
        version: arm.version,
        role: arm.role,
        weight: arm.role === "shadow" ? 0 : Math.round((weights[i] ?? 0) * 100) / 100,
        health: s?.health ?? "stopped",
        pid: s?.pid ?? null,
        restarts: s?.restarts ?? 0,
      } satisfies ServingVersion;
    });
    return { ...stored, serving, problem: l.problem };
  }

  /** Scores rows through the deployment. */
  async predict(name: string, rows: Record<string, unknown>[], project: string): Promise<DeploymentPredictResponse> {
    const started = performance.now();
    const time = this.now().toISOString();
    const l = this.live.get(name);
    if (!l || l.stored.project !== project)
      throw notFound(
        "deployment",
        name,
        "List the project's deployments with `caretflow deploy list` (and name the project with --project).",
      );
    if (l.stored.status === "paused")
      throw userError(
        "deployment_paused",
        `Deployment '${name}' is paused`,
        "Resume it with `caretflow deploy update NAME --resume`.",
        409,
      );
    const arm = this.pick(l);
    if (!arm) {
      throw new CaretflowError({
        code: "deployment_not_ready",
        kind: "operational",
        status: 503,
        message: `deployment '${name}' cannot serve now: ${l.problem ?? "no version loaded"}`,
        hint: "retry in a few seconds; `caretflow deploy show NAME` says what it waits for",
      });
    }
    const predictionId = randomUUID();
    const { model } = l.stored;
    // A refused or failed request is logged too, with its error, so the monitoring figures count it. Its
    // inputs are left out: a refused value (text in a numeric column) must not change the log's column types.
    const answered = { name, model, version: arm.version, shadow: false, predictionId, time, started };
    const failed = (err: unknown, status: string) =>
      this.settle({
        ...answered,
        status,
        rows: rows.map(() => ({})),
        outcome: { error: err instanceof Error ? err.message : String(err) },
      });
    try {
      validateRows(rows, arm.features);
    } catch (err) {
      failed(err, "invalid_input");
      throw err;
    }
    const shadow = l.shadow;
    if (shadow && shadow.version !== arm.version) void this.shadowScore(name, model, shadow, rows, predictionId, time);
    let answer: Awaited<ReturnType<GatewayPool["predict"]>>;
    try {
      answer = await this.opts.pool.predict(arm.key, rows);
    } catch (err) {
      const e = err as CaretflowError;
      failed(err, e.kind === "user" ? "invalid_input" : e.code === "scoring_process_lost" ? "unavailable" : "error");
      throw err;
    }
    const elapsedMs = this.settle({ ...answered, status: "ok", rows, outcome: { predictions: answer.predictions } });
    return {
      predictionId,
      deployment: name,
      model,
      version: arm.version,
      columns: answer.columns,
      predictions: answer.predictions as DeploymentPredictResponse["predictions"],
      elapsedMs,
    };
  }

  close(): void {
    this.closed = true;
    clearInterval(this.timer);
    for (const name of [...this.live.keys()]) this.remove(name);
  }

  // ------------------------------------------------------------ internals

  private async shadowScore(name: string, model: string, arm: Arm, rows: Record<string, unknown>[], predictionId: string, time: string) {
    const started = performance.now();
    let outcome: { predictions: Record<string, unknown>[] } | { error: string };
    try {
      outcome = { predictions: (await this.opts.pool.predict(arm.key, rows)).predictions };
    } catch (err) {
      outcome = { error: (err as Error).message };
    }
    this.settle({
      name,
      model,
      version: arm.version,
      shadow: true,
      predictionId,
      time,
      started,
      status: "error" in outcome ? "error" : "ok",
      rows,
      outcome,
    });
  }

  /** Counts one version's answer (or failure) in the metrics and logs it; its latency in ms. */
  private settle(a: {
    name: string;
    model: string;
    version: number;
    shadow: boolean;
    predictionId: string;
    time: string;
    started: number;
    status: string;
    rows: Record<string, unknown>[];
    outcome: { predictions: Record<string, unknown>[] } | { error: string };
  }): number {
    this.observe(a.name, a.version, a.status, a.started, a.shadow);
    const latencyMs = Math.round((performance.now() - a.started) * 100) / 100;
    const { name, started: _started, status: _status, outcome, ...rest } = a;
    this.opts.log.add({ ...rest, deployment: name, latencyMs, ...outcome });
    return latencyMs;
  }

  private observe(deployment: string, version: number, status: string, started: number, shadow: boolean): void {
    this.opts.observer?.onPrediction({ deployment, version, status, seconds: (performance.now() - started) / 1000, shadow });
  }

  /** Percent of requests for the target, then each of `others`, in order. */
  private weights(l: Live): number[] {
    const p = l.stored.policy;
    if (p.kind === "ab") {
      const w = l.others.map((_, i) => p.splits[i]?.weight ?? 0);
      return [100 - w.reduce((a, b) => a + b, 0), ...w];
    }
    if (p.kind === "canary" && l.others.length > 0) {
      const w = canaryWeight(p, l.stored.policySince, this.now());
      return [100 - w, w];
    }
    return [100];
  }

  private pick(l: Live): Arm | null {
    if (!l.target) return null;
    const arms = [l.target, ...l.others];
    const weights = this.weights(l);
    let r = this.random() * 100;
    for (let i = 0; i < arms.length; i++) {
      r -= weights[i] ?? 0;
      if (r < 0) return arms[i]!;
    }
    return l.target;
  }

  private aliasesOf(d: StoredDeployment): string[] {
    return this.targetsOf(d)
      .map(({ target }) => ("alias" in target ? target.alias : null))
      .filter((a): a is string => a !== null);
  }

  private targetsOf(d: StoredDeployment): { target: DeploymentTarget; role: ServingVersion["role"] }[] {
    const p = d.policy;
    return [
      { target: d.target, role: "target" },
      ...(p.kind === "ab" ? p.splits.map((s) => ({ target: s.target, role: "split" as const })) : []),
      ...(p.kind === "canary" ? [{ target: p.canary, role: "canary" as const }] : []),
      ...(p.kind === "shadow" ? [{ target: p.shadow, role: "shadow" as const }] : []),
    ];
  }

  /** Records a model's aliases; returns the aliases whose version changed. */
  private noteAliases(model: string, aliases: Record<string, number>): Set<string> {
    const moved = new Set<string>();
    for (const key of this.aliases.keys()) {
      if (!key.startsWith(`${model}@`)) continue;
      const alias = key.slice(model.length + 1);
      const now = aliases[alias] ?? null;
      if (this.aliases.get(key) !== now) moved.add(alias);
      this.aliases.set(key, now);
    }
    for (const [alias, version] of Object.entries(aliases)) {
      if (!this.aliases.has(aliasKey(model, alias))) this.aliases.set(aliasKey(model, alias), version);
    }
    return moved;
  }

  private async versionOf(model: string, target: DeploymentTarget): Promise<number> {
    if ("version" in target) return target.version;
    const key = aliasKey(model, target.alias);
    if (!this.aliases.has(key)) this.noteAliases(model, (await this.opts.registry.getModel(model)).aliases);
    const v = this.aliases.get(key) ?? null;
    if (v === null)
      throw userError("alias_not_found", `Model '${model}' has no alias '${target.alias}'`, "Point the alias at a version first.", 409);
    return v;
  }

  private async swap(l: Live, stored: StoredDeployment): Promise<void> {
    if (this.closed || this.live.get(stored.name) !== l) return;
    const name = stored.name;
    let arms: Arm[];
    try {
      const resolved = await Promise.all(
        this.targetsOf(stored).map(async ({ target, role }) => ({ role, version: await this.versionOf(stored.model, target) })),
      );
      // Load every version before any traffic moves to it.
      arms = await Promise.all(
        resolved.map(async ({ role, version }) => {
          const m = await this.opts.registry.resolveModelRef(`${stored.model}/${version}`);
          const key = `${m.name}/${m.version}`;
          l.held.add(key);
          const loaded = await this.opts.pool.acquire({ uri: m.uri, sha256: m.sha256, key }, name);
          return { version, key, role, features: loaded.features };
        }),
      );
    } catch (err) {
      // The old versions keep serving under the old setting; the problem is shown.
      l.problem = (err as Error).message;
      this.logger("warn", `deployment ${name}: ${l.problem}`);
      this.releaseUnused(l);
      throw err;
    }
    if (this.live.get(name) !== l) {
      for (const a of arms) this.opts.pool.release(a.key, name);
      return;
    }
    const before = l.target ? [l.target, ...l.others, ...(l.shadow ? [l.shadow] : [])].map((a) => a.version) : [];
    l.stored = stored;
    l.target = arms.find((a) => a.role === "target") ?? null;
    l.others = arms.filter((a) => a.role === "split" || a.role === "canary");
    l.shadow = arms.find((a) => a.role === "shadow") ?? null;
    l.problem = null;
    this.releaseUnused(l);
    const after = arms.map((a) => a.version);
    if (before.join() !== after.join()) this.logger("info", `deployment ${name} serves versions ${after.join(", ")} of ${stored.model}`);
  }

  /** Releases versions the deployment no longer sends requests to (their processes finish first). */
  private releaseUnused(l: Live): void {
    const used = new Set([l.target, ...l.others, l.shadow].filter((a): a is Arm => a !== null).map((a) => a.key));
    for (const key of [...l.held]) {
      if (used.has(key)) continue;
      l.held.delete(key);
      this.opts.pool.release(key, l.stored.name);
    }
  }
}
