import { readFileSync } from "node:fs";
import { CaretflowError } from "@caretflow/contracts";
import type { MiddlewareHandler } from "hono";
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from "prom-client";
import { matchRoute } from "../auth/authorize.ts";

/** Seconds: from a cached read (milliseconds) to a slow scoring or an upload. */
const LATENCY_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];

/** One online prediction, as the serving gateway saw it. */
export interface PredictionObservation {
  deployment: string;
  /** The model version that answered (or, for a shadow, scored). */
  version: string | number;
  /** "ok", or what went wrong: "invalid_input", "error", "unavailable"... */
  status: string;
  seconds: number;
  /** true: a shadow version scored the request; its answer was logged, not returned. */
  shadow: boolean;
}

/** Jobs per kind and status (queued and running), and the executor's own counts. */
export interface JobCounts {
  byKind(): Promise<Array<{ kind: string; status: string; count: number }>>;
  executor(): Promise<{ running: number; queued: number }>;
}

/**
 * caretflow's Prometheus metrics, in a registry of their own (no global state): HTTP requests by
 * route pattern and status, online predictions by deployment and version, jobs by kind and status,
 * and Node's process metrics. `GET /metrics` serves them (metrics.routes.ts).
 * @example const m = new ServerMetrics(); app.use("*", m.http()); m.observePrediction({ deployment: "churn", version: 3, status: "ok", seconds: 0.012, shadow: false });
 */
export class ServerMetrics {
  readonly registry = new Registry();
  readonly #requests: Counter<"method" | "route" | "status">;
  readonly #requestSeconds: Histogram<"method" | "route" | "status">;
  readonly #predictions: Counter<"deployment" | "version" | "status" | "shadow">;
  readonly #predictionSeconds: Histogram<"deployment" | "version" | "status" | "shadow">;

  constructor(opts: { processMetrics?: boolean } = {}) {
    const registers = [this.registry];
    if (opts.processMetrics ?? true) collectDefaultMetrics({ register: this.registry, prefix: "caretflow_" });
    this.#requests = new Counter({
      name: "caretflow_http_requests_total",
      help: "HTTP requests answered, by method, route pattern (as in the API's route table) and status",
      labelNames: ["method", "route", "status"],
      registers,
    });
    this.#requestSeconds = new Histogram({
      name: "caretflow_http_request_seconds",
      help: "Time to answer an HTTP request (to the start of the response body), by method, route pattern and status",
      labelNames: ["method", "route", "status"],
      buckets: LATENCY_BUCKETS,
      registers,
    });
    this.#predictions = new Counter({
      name: "caretflow_predictions_total",
      help: "Online predictions, by deployment, model version, status and whether a shadow version made them",
      labelNames: ["deployment", "version", "status", "shadow"],
      registers,
    });
    this.#predictionSeconds = new Histogram({
      name: "caretflow_prediction_seconds",
      help: "Time to score an online prediction request, by deployment, model version, status and shadow",
      labelNames: ["deployment", "version", "status", "shadow"],
      buckets: LATENCY_BUCKETS,
      registers,
    });
  }

  /** Records one online prediction (the serving gateway calls this for every request, shadows included). */
  observePrediction(p: PredictionObservation): void {
    const labels = { deployment: p.deployment, version: String(p.version), status: p.status, shadow: String(p.shadow) };
    this.#predictions.inc(labels);
    this.#predictionSeconds.observe(labels, p.seconds);
  }

  /** Gauges of jobs queued and running, read when Prometheus scrapes. */
  trackJobs(counts: JobCounts): void {
    new Gauge({
      name: "caretflow_jobs",
      help: "Jobs queued or running, by kind and status (from the metadata database: every worker's jobs)",
      labelNames: ["kind", "status"],
      registers: [this.registry],
      async collect() {
        this.reset();
        for (const r of await counts.byKind()) this.set({ kind: r.kind, status: r.status }, r.count);
      },
    });
    new Gauge({
      name: "caretflow_executor_jobs",
      help: "Jobs this server's executor is running, and waiting for a free engine worker (state: running, queued)",
      labelNames: ["state"],
      registers: [this.registry],
      async collect() {
        const c = await counts.executor();
        this.set({ state: "running" }, c.running);
        this.set({ state: "queued" }, c.queued);
      },
    });
  }

  /** Hono middleware counting and timing every request by its route pattern, so label values stay few. */
  http(): MiddlewareHandler {
    return async (c, next) => {
      const started = performance.now();
      try {
        await next();
      } finally {
        const labels = { method: c.req.method, route: routePattern(c.req.method, c.req.path), status: String(c.res.status) };
        this.#requests.inc(labels);
        this.#requestSeconds.observe(labels, (performance.now() - started) / 1000);
      }
    };
  }
}

/** `/api/jobs/{id}` for /api/jobs/job_1; other paths by their area (`/mlflow/*`, `/metrics`, `web`). */
export function routePattern(method: string, path: string): string {
  if (path.startsWith("/api/")) return matchRoute(method, path)?.def.path ?? "/api/(unknown)";
  if (path === "/metrics") return path;
  if (path === "/mlflow" || path.startsWith("/mlflow/")) return "/mlflow/*";
  return "web";
}

/**
 * The token Prometheus sends to GET /metrics: the file given (`caretflow up --metrics-token-file`), else
 * CARETFLOW_METRICS_TOKEN, else the file CARETFLOW_METRICS_TOKEN_FILE names; null: /metrics is off.
 */
export function metricsToken(file: string | undefined, env: Readonly<Record<string, string | undefined>>): string | null {
  const path = file ?? env.CARETFLOW_METRICS_TOKEN_FILE;
  let token = file ? undefined : env.CARETFLOW_METRICS_TOKEN;
  if (token === undefined && path) {
    try {
      token = readFileSync(path, "utf8").trim();
    } catch (err) {
      throw tokenError(`cannot read the metrics token file ${path}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
    }
  }
  if (token === undefined || token === "") return null;
  if (token.length < 16) throw tokenError("the metrics token is shorter than 16 characters");
  return token;
}

function tokenError(message: string): CaretflowError {
  return new CaretflowError({
    code: "invalid_metrics_token",
    kind: "user",
    message,
    hint: "Put a random token of at least 16 characters in the file (e.g. `openssl rand -hex 24 > metrics.token`).",
  });
}
