import { CaretflowError, notFound, userError } from "@caretflow/contracts";
import type { z } from "zod";
import { z as zod } from "zod";
import {
  checkAlias,
  checkArtifactPath,
  checkExperimentId,
  checkLoggedModelId,
  checkModelName,
  checkRunId,
  checkVersion,
} from "./ids.validate.ts";
import { mlflowHttpError, mlflowUnavailable, type Subject } from "./mlflow.errors.ts";
import { basicAuthorization, type MlflowCredentials } from "./mlflow.secret.ts";
import {
  MlflowExperiment,
  MlflowFileInfo,
  MlflowLoggedModel,
  MlflowMetric,
  MlflowModelVersion,
  MlflowRegisteredModel,
  MlflowRun,
  type MlflowRunStatus,
} from "./mlflow.types.ts";

export interface MlflowClientOptions {
  /** Base URL including MLflow's static prefix if any, e.g. http://127.0.0.1:5000/mlflow */
  baseUrl: string;
  fetch?: typeof fetch;
  /** Per request; artifact downloads get the same limit until the headers arrive. Default 15000. */
  timeoutMs?: number;
  /** Sent as HTTP basic auth on every request (caretflow's MLflow refuses requests without it). */
  credentials?: MlflowCredentials;
  /** The Authorization header value to send instead, e.g. `Bearer <token>` for an MLflow server behind a token check. */
  authorization?: string;
}

export interface Page<T> {
  items: T[];
  nextPageToken: string | null;
}

export interface SearchRunsQuery {
  experimentIds: string[];
  filter?: string;
  orderBy?: string[];
  maxResults?: number;
  pageToken?: string;
  /** ACTIVE_ONLY (default), DELETED_ONLY or ALL */
  viewType?: "ACTIVE_ONLY" | "DELETED_ONLY" | "ALL";
}

type Query = Record<string, string | number | undefined>;

/**
 * A typed client for MLflow 3.x's REST API (/api/2.0/mlflow/...).
 * Every response is parsed with zod; every identifier is validated before it
 * goes into a URL. Errors come out as CaretflowError (mlflow_unavailable,
 * *_not_found, ...).
 */
export class MlflowClient {
  readonly baseUrl: string;
  private readonly fetchImpl: typeof fetch;
  private readonly timeoutMs: number;
  readonly #authorization: string | null;

  constructor(opts: MlflowClientOptions) {
    this.baseUrl = opts.baseUrl.replace(/\/+$/, "");
    this.fetchImpl = opts.fetch ?? fetch;
    this.timeoutMs = opts.timeoutMs ?? 15_000;
    this.#authorization = opts.authorization ?? (opts.credentials ? basicAuthorization(opts.credentials) : null);
  }

  // ------------------------------------------------------------ transport

  /**
   * One HTTP request. With `readBody` the timeout covers the whole exchange
   * (API calls); without it only the wait for the headers, so a streamed
   * artifact download is not cut off midway.
   */
  private async send(
    method: "GET" | "POST" | "PATCH" | "DELETE",
    path: string,
    query: Query | undefined,
    body: unknown,
    readBody: true,
  ): Promise<{ res: Response; text: string }>;
  private async send(method: "GET", path: string, query: Query, body: undefined, readBody: false): Promise<{ res: Response; text: null }>;
  private async send(
    method: "GET" | "POST" | "PATCH" | "DELETE",
    path: string,
    query: Query | undefined,
    body: unknown,
    readBody: boolean,
  ): Promise<{ res: Response; text: string | null }> {
    const url = new URL(`${this.baseUrl}/${path}`);
    for (const [k, v] of Object.entries(query ?? {})) if (v !== undefined) url.searchParams.set(k, String(v));
    const ctl = new AbortController();
    const timer = setTimeout(() => ctl.abort(new Error(`no answer within ${this.timeoutMs} ms`)), this.timeoutMs);
    try {
      const res = await this.fetchImpl(url, {
        method,
        headers: {
          ...(body === undefined ? {} : { "content-type": "application/json" }),
          ...(this.#authorization ? { authorization: this.#authorization } : {}),
        },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
        signal: ctl.signal,
      });
      return { res, text: readBody ? await res.text() : null };
    } catch (err) {
      throw mlflowUnavailable(this.baseUrl, err);
    } finally {
      clearTimeout(timer);
    }
  }

  private async call<S extends z.ZodType>(
    schema: S,
    method: "GET" | "POST" | "PATCH" | "DELETE",
    path: string,
    opts: { query?: Query; body?: unknown; subject?: Subject } = {},
  ): Promise<z.output<S>> {
    const { res, text } = await this.send(method, `api/2.0/mlflow/${path}`, opts.query, opts.body, true);
    if (!res.ok) throw mlflowHttpError(res.status, text, opts.subject);
    let json: unknown;
    try {
      json = text.length === 0 ? {} : JSON.parse(text);
    } catch {
      throw mlflowHttpError(502, `MLflow answered ${path} with something that is not JSON: ${text.slice(0, 200)}`, undefined);
    }
    return schema.parse(json);
  }

  // ------------------------------------------------------------ experiments

  async getExperimentByName(name: string): Promise<MlflowExperiment | null> {
    try {
      const r = await this.call(zod.object({ experiment: MlflowExperiment }), "GET", "experiments/get-by-name", {
        query: { experiment_name: name },
        subject: { what: "experiment", id: name },
      });
      return r.experiment;
    } catch (err) {
      if (isNotFound(err)) return null;
      throw err;
    }
  }

  async getExperiment(experimentId: string): Promise<MlflowExperiment> {
    const r = await this.call(zod.object({ experiment: MlflowExperiment }), "GET", "experiments/get", {
      query: { experiment_id: checkExperimentId(experimentId) },
      subject: { what: "experiment", id: experimentId },
    });
    return r.experiment;
  }

  async createExperiment(name: string, tags: Record<string, string> = {}): Promise<string> {
    const r = await this.call(zod.object({ experiment_id: zod.string() }), "POST", "experiments/create", {
      body: { name, tags: toTagList(tags) },
    });
    return r.experiment_id;
  }

  async searchExperiments(
    q: { filter?: string; maxResults?: number; pageToken?: string; orderBy?: string[] } = {},
  ): Promise<Page<MlflowExperiment>> {
    const r = await this.call(
      zod.object({ experiments: zod.array(MlflowExperiment).default([]), next_page_token: zod.string().optional() }),
      "POST",
      "experiments/search",
      {
        body: {
          max_results: q.maxResults ?? 1000,
          filter: q.filter,
          page_token: q.pageToken,
          order_by: q.orderBy,
          view_type: "ACTIVE_ONLY",
        },
      },
    );
    return { items: r.experiments, nextPageToken: r.next_page_token || null };
  }

  /** Every active experiment, following page tokens. */
  async allExperiments(): Promise<MlflowExperiment[]> {
    return collectPages((pageToken) => this.searchExperiments({ ...(pageToken ? { pageToken } : {}) }));
  }

  // ------------------------------------------------------------ runs

  async searchRuns(q: SearchRunsQuery): Promise<Page<MlflowRun>> {
    q.experimentIds.forEach(checkExperimentId);
    if (q.experimentIds.length === 0) return { items: [], nextPageToken: null };
    const r = await this.call(
      zod.object({ runs: zod.array(MlflowRun).default([]), next_page_token: zod.string().optional() }),
      "POST",
      "runs/search",
      {
        body: {
          experiment_ids: q.experimentIds,
          filter: q.filter,
          order_by: q.orderBy,
          max_results: q.maxResults ?? 1000,
          page_token: q.pageToken,
          run_view_type: q.viewType ?? "ACTIVE_ONLY",
        },
      },
    );
    return { items: r.runs, nextPageToken: r.next_page_token || null };
  }

  /** All runs matching a query, following page tokens (bounded by `limit`). */
  async searchAllRuns(q: Omit<SearchRunsQuery, "pageToken">, limit = 10_000): Promise<MlflowRun[]> {
    return collectPages((pageToken) => this.searchRuns({ ...q, ...(pageToken ? { pageToken } : {}) }), limit);
  }

  async getRun(runId: string): Promise<MlflowRun> {
    const r = await this.call(zod.object({ run: MlflowRun }), "GET", "runs/get", {
      query: { run_id: checkRunId(runId) },
      subject: { what: "run", id: runId },
    });
    return r.run;
  }

  async createRun(req: { experimentId: string; runName?: string; tags?: Record<string, string>; startTime?: number }): Promise<MlflowRun> {
    const r = await this.call(zod.object({ run: MlflowRun }), "POST", "runs/create", {
      body: {
        experiment_id: checkExperimentId(req.experimentId),
        run_name: req.runName,
        start_time: req.startTime ?? Date.now(),
        tags: toTagList(req.tags ?? {}),
      },
    });
    return r.run;
  }

  /** Sets a run's status (e.g. KILLED for a job cancelled while the engine could not say so itself). */
  async updateRun(runId: string, update: { status?: MlflowRunStatus; endTime?: number; runName?: string }): Promise<void> {
    await this.call(zod.unknown(), "POST", "runs/update", {
      body: {
        run_id: checkRunId(runId),
        status: update.status,
        end_time: update.endTime ?? (update.status && update.status !== "RUNNING" ? Date.now() : undefined),
        run_name: update.runName,
      },
      subject: { what: "run", id: runId },
    });
  }

  async setRunTag(runId: string, key: string, value: string): Promise<void> {
    await this.call(zod.unknown(), "POST", "runs/set-tag", {
      body: { run_id: checkRunId(runId), key, value },
      subject: { what: "run", id: runId },
    });
  }

  async logBatch(
    runId: string,
    batch: {
      metrics?: Array<{ key: string; value: number; step?: number; timestamp?: number }>;
      params?: Record<string, string>;
      tags?: Record<string, string>;
    },
  ): Promise<void> {
    const now = Date.now();
    await this.call(zod.unknown(), "POST", "runs/log-batch", {
      body: {
        run_id: checkRunId(runId),
        metrics: (batch.metrics ?? []).map((m) => ({ key: m.key, value: m.value, step: m.step ?? 0, timestamp: m.timestamp ?? now })),
        params: Object.entries(batch.params ?? {}).map(([key, value]) => ({ key, value })),
        tags: toTagList(batch.tags ?? {}),
      },
      subject: { what: "run", id: runId },
    });
  }

  async getMetricHistory(runId: string, key: string): Promise<MlflowMetric[]> {
    checkRunId(runId);
    return collectPages(async (pageToken) => {
      const r = await this.call(
        zod.object({ metrics: zod.array(MlflowMetric).default([]), next_page_token: zod.string().optional() }),
        "GET",
        "metrics/get-history",
        { query: { run_id: runId, metric_key: key, max_results: 25_000, page_token: pageToken }, subject: { what: "run", id: runId } },
      );
      return { items: r.metrics, nextPageToken: r.next_page_token || null };
    });
  }

  // ------------------------------------------------------------ artifacts

  async listArtifacts(runId: string, path?: string): Promise<MlflowFileInfo[]> {
    const r = await this.call(zod.object({ files: zod.array(MlflowFileInfo).default([]) }), "GET", "artifacts/list", {
      query: { run_id: checkRunId(runId), path: path === undefined || path === "" ? undefined : checkArtifactPath(path) },
      subject: { what: "run", id: runId },
    });
    return r.files;
  }

  /**
   * Streams one artifact file of a run. The caller owns the returned Response
   * (read or cancel its body). Non-2xx answers become errors.
   */
  async getArtifact(runId: string, path: string): Promise<Response> {
    const { res } = await this.send(
      "GET",
      "get-artifact",
      { run_uuid: checkRunId(runId), path: checkArtifactPath(path) },
      undefined,
      false,
    );
    if (!res.ok) throw mlflowHttpError(res.status, await res.text().catch(() => ""), { what: "artifact", id: `${runId}/${path}` });
    return res;
  }

  // ------------------------------------------------------------ logged models (MLflow 3)

  async getLoggedModel(modelId: string): Promise<MlflowLoggedModel> {
    const r = await this.call(zod.object({ model: MlflowLoggedModel }), "GET", `logged-models/${checkLoggedModelId(modelId)}`, {
      subject: { what: "logged model", id: modelId },
    });
    return r.model;
  }

  // ------------------------------------------------------------ registry

  async createRegisteredModel(name: string, description?: string): Promise<MlflowRegisteredModel> {
    const r = await this.call(zod.object({ registered_model: MlflowRegisteredModel }), "POST", "registered-models/create", {
      body: { name: checkModelName(name), description },
    });
    return r.registered_model;
  }

  async getRegisteredModel(name: string): Promise<MlflowRegisteredModel> {
    const r = await this.call(zod.object({ registered_model: MlflowRegisteredModel }), "GET", "registered-models/get", {
      query: { name: checkModelName(name) },
      subject: { what: "model", id: name },
    });
    return r.registered_model;
  }

  async searchRegisteredModels(
    q: { filter?: string; maxResults?: number; pageToken?: string; orderBy?: string[] } = {},
  ): Promise<Page<MlflowRegisteredModel>> {
    const r = await this.call(
      zod.object({ registered_models: zod.array(MlflowRegisteredModel).default([]), next_page_token: zod.string().optional() }),
      "GET",
      "registered-models/search",
      { query: { filter: q.filter, max_results: q.maxResults ?? 1000, page_token: q.pageToken, order_by: q.orderBy?.[0] } },
    );
    return { items: r.registered_models, nextPageToken: r.next_page_token || null };
  }

  async createModelVersion(req: {
    name: string;
    source: string;
    runId?: string;
    modelId?: string;
    description?: string;
    tags?: Record<string, string>;
  }): Promise<MlflowModelVersion> {
    const r = await this.call(zod.object({ model_version: MlflowModelVersion }), "POST", "model-versions/create", {
      body: {
        name: checkModelName(req.name),
        source: req.source,
        run_id: req.runId === undefined ? undefined : checkRunId(req.runId),
        model_id: req.modelId === undefined ? undefined : checkLoggedModelId(req.modelId),
        description: req.description,
        tags: toTagList(req.tags ?? {}),
      },
      subject: { what: "model", id: req.name },
    });
    return r.model_version;
  }

  async getModelVersion(name: string, version: number | string): Promise<MlflowModelVersion> {
    const v = checkVersion(version);
    const r = await this.call(zod.object({ model_version: MlflowModelVersion }), "GET", "model-versions/get", {
      query: { name: checkModelName(name), version: v },
      subject: { what: "model version", id: `${name}/${v}` },
    });
    return r.model_version;
  }

  async setModelVersionTag(name: string, version: number, key: string, value: string): Promise<void> {
    await this.call(zod.unknown(), "POST", "model-versions/set-tag", {
      body: { name: checkModelName(name), version: String(checkVersion(version)), key, value },
      subject: { what: "model version", id: `${name}/${version}` },
    });
  }

  async updateRegisteredModel(name: string, description: string): Promise<void> {
    await this.call(zod.unknown(), "PATCH", "registered-models/update", {
      body: { name: checkModelName(name), description },
      subject: { what: "model", id: name },
    });
  }

  async setRegisteredModelTag(name: string, key: string, value: string): Promise<void> {
    await this.call(zod.unknown(), "POST", "registered-models/set-tag", {
      body: { name: checkModelName(name), key, value },
      subject: { what: "model", id: name },
    });
  }

  async deleteRegisteredModelTag(name: string, key: string): Promise<void> {
    await this.call(zod.unknown(), "DELETE", "registered-models/delete-tag", {
      body: { name: checkModelName(name), key },
      subject: { what: "model", id: name },
    });
  }

  async updateModelVersion(name: string, version: number, description: string): Promise<void> {
    await this.call(zod.unknown(), "PATCH", "model-versions/update", {
      body: { name: checkModelName(name), version: String(checkVersion(version)), description },
      subject: { what: "model version", id: `${name}/${version}` },
    });
  }

  async deleteModelVersionTag(name: string, version: number, key: string): Promise<void> {
    await this.call(zod.unknown(), "DELETE", "model-versions/delete-tag", {
      body: { name: checkModelName(name), version: String(checkVersion(version)), key },
      subject: { what: "model version", id: `${name}/${version}` },
    });
  }

  async setRegisteredModelAlias(name: string, alias: string, version: number): Promise<void> {
    await this.call(zod.unknown(), "POST", "registered-models/alias", {
      body: { name: checkModelName(name), alias: checkAlias(alias), version: String(checkVersion(version)) },
      subject: { what: "model version", id: `${name}/${version}` },
    });
  }

  async deleteRegisteredModelAlias(name: string, alias: string): Promise<void> {
    await this.call(zod.unknown(), "DELETE", "registered-models/alias", {
      body: { name: checkModelName(name), alias: checkAlias(alias) },
      subject: { what: "model alias", id: `${name}@${alias}` },
    });
  }

  async getModelVersionByAlias(name: string, alias: string): Promise<MlflowModelVersion> {
    try {
      const r = await this.call(zod.object({ model_version: MlflowModelVersion }), "GET", "registered-models/alias", {
        query: { name: checkModelName(name), alias: checkAlias(alias) },
        subject: { what: "model alias", id: `${name}@${alias}` },
      });
      return r.model_version;
    } catch (err) {
      // MLflow answers an unknown alias of an existing model with INVALID_PARAMETER_VALUE "... not found".
      if (err instanceof CaretflowError && err.code === "mlflow_invalid_parameter_value" && /not found/i.test(err.message)) {
        throw notFound("model alias", `${name}@${alias}`, `list the model's aliases with 'caretflow models list'`);
      }
      throw err;
    }
  }

  async searchModelVersions(
    q: { filter?: string; maxResults?: number; pageToken?: string; orderBy?: string[] } = {},
  ): Promise<Page<MlflowModelVersion>> {
    const r = await this.call(
      zod.object({ model_versions: zod.array(MlflowModelVersion).default([]), next_page_token: zod.string().optional() }),
      "GET",
      "model-versions/search",
      { query: { filter: q.filter, max_results: q.maxResults ?? 1000, page_token: q.pageToken, order_by: q.orderBy?.[0] } },
    );
    return { items: r.model_versions, nextPageToken: r.next_page_token || null };
  }
}

function toTagList(tags: Record<string, string>): Array<{ key: string; value: string }> {
  return Object.entries(tags).map(([key, value]) => ({ key, value }));
}

function isNotFound(err: unknown): boolean {
  return typeof err === "object" && err !== null && (err as { status?: unknown }).status === 404;
}

/** Follows MLflow page tokens until the last page or `limit` items. */
export async function collectPages<T>(page: (token: string | undefined) => Promise<Page<T>>, limit = 100_000): Promise<T[]> {
  const out: T[] = [];
  let token: string | undefined;
  do {
    const p = await page(token);
    out.push(...p.items);
    token = p.nextPageToken ?? undefined;
  } while (token && out.length < limit);
  return out.slice(0, limit);
}

/**
 * Quotes a value for an MLflow filter string. MLflow's filter parser has no
 * reliable escape for quotes, so values containing them are refused.
 */
export function filterQuote(value: string): string {
  if (/['"`\\]/.test(value))
    throw userError("invalid_filter_value", `'${value.slice(0, 80)}' cannot be used in an MLflow search`, "remove quotes and backslashes");
  return `'${value}'`;
}
