import { readFileSync } from "node:fs";
import { CaretflowError } from "@caretflow/contracts";
import { basicAuthorization } from "@caretflow/tracking";
import type { Logger } from "./ports.ts";

/** An existing MLflow tracking server as given at start: its URL and, optionally, credentials. */
export interface ExternalMlflowSettings {
  /** e.g. https://mlflow.example.com, or http://host:5000/prefix when MLflow runs with --static-prefix. */
  url?: string;
  username?: string;
  password?: string;
  /** A bearer token, sent as `Authorization: Bearer <token>` (MLFLOW_TRACKING_TOKEN for the engine). */
  token?: string;
}

/** A checked external MLflow: where it is and how every caretflow client authenticates to it. */
export interface ExternalMlflow {
  /** The base URL without a trailing slash (never with credentials in it). */
  url: string;
  /** The Authorization header value, or null for a server without authentication. */
  authorization: string | null;
  /** What the engine's MLflow client reads its credentials from (never a command line). */
  engineEnv: Record<string, string>;
}

/**
 * The external MLflow named by `settings`, else by CARETFLOW_MLFLOW_URL and its credential variables
 * (CARETFLOW_MLFLOW_USERNAME with CARETFLOW_MLFLOW_PASSWORD or CARETFLOW_MLFLOW_PASSWORD_FILE, or
 * CARETFLOW_MLFLOW_TOKEN or CARETFLOW_MLFLOW_TOKEN_FILE); null when no URL is given (caretflow then
 * runs its own MLflow). Refuses a URL that is not http(s), or that carries credentials.
 * @example externalMlflowConfig({}, { CARETFLOW_MLFLOW_URL: "https://mlflow.example.com", CARETFLOW_MLFLOW_TOKEN: "t" })
 */
export function externalMlflowConfig(
  settings: ExternalMlflowSettings,
  env: Readonly<Record<string, string | undefined>>,
): ExternalMlflow | null {
  const raw = settings.url ?? env.CARETFLOW_MLFLOW_URL;
  if (!raw) return null;
  const url = checkedMlflowUrl(raw);
  const username = settings.username ?? env.CARETFLOW_MLFLOW_USERNAME;
  const password = settings.password ?? env.CARETFLOW_MLFLOW_PASSWORD ?? secretFile(env, "CARETFLOW_MLFLOW_PASSWORD_FILE");
  const token = settings.token ?? env.CARETFLOW_MLFLOW_TOKEN ?? secretFile(env, "CARETFLOW_MLFLOW_TOKEN_FILE");
  if (token && (username || password)) {
    throw settingsError(
      "both a token and a user name or password are set for the MLflow server",
      "Set either the token or the user name and password.",
    );
  }
  if (Boolean(username) !== Boolean(password)) {
    throw settingsError(
      `the MLflow server's ${username ? "password" : "user name"} is missing`,
      "Set both CARETFLOW_MLFLOW_USERNAME and CARETFLOW_MLFLOW_PASSWORD (or CARETFLOW_MLFLOW_PASSWORD_FILE).",
    );
  }
  // A private CA for an https server: Python's MLflow client reads it from this variable.
  const certPath: Record<string, string> = env.MLFLOW_TRACKING_SERVER_CERT_PATH
    ? { MLFLOW_TRACKING_SERVER_CERT_PATH: env.MLFLOW_TRACKING_SERVER_CERT_PATH }
    : {};
  if (token) return { url, authorization: `Bearer ${token}`, engineEnv: { MLFLOW_TRACKING_TOKEN: token, ...certPath } };
  if (username && password) {
    return {
      url,
      authorization: basicAuthorization({ username, password }),
      engineEnv: { MLFLOW_TRACKING_USERNAME: username, MLFLOW_TRACKING_PASSWORD: password, ...certPath },
    };
  }
  return { url, authorization: null, engineEnv: { ...certPath } };
}

/** The URL as given, without a trailing slash; refused when it is not plain http(s) or carries credentials. */
export function checkedMlflowUrl(raw: string): string {
  let url: URL | null = null;
  try {
    url = new URL(raw.trim());
  } catch {}
  if (!url || (url.protocol !== "http:" && url.protocol !== "https:")) {
    // The text may hold a password: whatever comes before an '@' is left out.
    const shown = (raw.includes("@") ? `…@${raw.slice(raw.lastIndexOf("@") + 1)}` : raw).slice(0, 80);
    throw settingsError(
      `the MLflow URL '${shown}' is not an http(s) URL`,
      "Give the tracking server's address, e.g. --mlflow-url https://mlflow.example.com (or CARETFLOW_MLFLOW_URL).",
    );
  }
  if (url.username || url.password) {
    throw settingsError(
      `the MLflow URL ${url.protocol}//${url.host}${url.pathname} carries credentials, which would end up in logs and job specs`,
      "Remove them from the URL and set CARETFLOW_MLFLOW_USERNAME and CARETFLOW_MLFLOW_PASSWORD (or CARETFLOW_MLFLOW_TOKEN) instead.",
    );
  }
  if (url.search || url.hash) {
    throw settingsError(
      `the MLflow URL ${url.origin}${url.pathname} has a query or fragment`,
      "Give the server's base URL only (with its --static-prefix path, if it has one).",
    );
  }
  return `${url.origin}${url.pathname.replace(/\/+$/, "")}`;
}

function secretFile(env: Readonly<Record<string, string | undefined>>, name: string): string | undefined {
  const path = env[name];
  if (!path) return undefined;
  try {
    return readFileSync(path, "utf8").trim();
  } catch (err) {
    throw settingsError(
      `cannot read ${name} (${path}): ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`,
      `Point ${name} at a readable file.`,
    );
  }
}

function settingsError(message: string, hint: string): CaretflowError {
  return new CaretflowError({ code: "invalid_mlflow_settings", kind: "user", message, hint });
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** One request to the server; a CaretflowError naming the URL (never the credentials) when it does not answer. */
async function answer(m: ExternalMlflow, path: string, timeoutMs: number): Promise<Response> {
  try {
    const res = await fetch(`${m.url}/${path}`, {
      headers: m.authorization ? { authorization: m.authorization } : {},
      redirect: "manual",
      signal: AbortSignal.timeout(timeoutMs),
    });
    await res.body?.cancel();
    return res;
  } catch (err) {
    const cause = (err as Error & { cause?: Error }).cause?.message ?? (err as Error).message;
    throw new CaretflowError({
      code: "mlflow_unavailable",
      kind: "operational",
      status: 503,
      message: `the MLflow server at ${m.url} did not answer (${cause})`,
      hint: "Check the address (--mlflow-url or CARETFLOW_MLFLOW_URL) and that the server is running and reachable from this machine.",
      cause: err,
    });
  }
}

function refused(m: ExternalMlflow, status: number): CaretflowError {
  return new CaretflowError({
    code: "mlflow_credentials_refused",
    kind: "user",
    message: `the MLflow server at ${m.url} refused ${m.authorization ? "caretflow's credentials" : "requests without credentials"} (HTTP ${status})`,
    hint: m.authorization
      ? "Check CARETFLOW_MLFLOW_USERNAME and CARETFLOW_MLFLOW_PASSWORD (or CARETFLOW_MLFLOW_TOKEN), and that this user may create experiments and runs."
      : "Set CARETFLOW_MLFLOW_USERNAME and CARETFLOW_MLFLOW_PASSWORD, or CARETFLOW_MLFLOW_TOKEN.",
  });
}

/**
 * Checks once that the server answers as MLflow and accepts the credentials (its health check, then a
 * one-experiment search); retries a server that does not answer for `waitMs`, never refused credentials.
 */
export async function checkExternalMlflow(m: ExternalMlflow, opts: { waitMs?: number; timeoutMs?: number } = {}): Promise<void> {
  const deadline = Date.now() + (opts.waitMs ?? 5000);
  const timeoutMs = opts.timeoutMs ?? 5000;
  for (;;) {
    try {
      const health = await answer(m, "health", timeoutMs);
      if (health.status === 401 || health.status === 403) throw refused(m, health.status);
      const search = await answer(m, "api/2.0/mlflow/experiments/search?max_results=1", timeoutMs);
      if (search.status === 401 || search.status === 403) throw refused(m, search.status);
      if (health.ok && search.ok) return;
      throw new CaretflowError({
        code: "mlflow_unavailable",
        kind: "operational",
        status: 503,
        message: `the server at ${m.url} does not answer as an MLflow tracking server (health: HTTP ${health.status}, experiment search: HTTP ${search.status})`,
        hint: "Give MLflow's base URL, including its --static-prefix path if it runs with one (e.g. https://host/mlflow).",
      });
    } catch (err) {
      const retry = err instanceof CaretflowError && err.code === "mlflow_unavailable" && Date.now() < deadline;
      if (!retry) throw err;
      await sleep(500);
    }
  }
}

/** The external server's readiness for GET /api/health, kept by polling its health check. */
export class ExternalMlflowMonitor {
  readonly #m: ExternalMlflow;
  readonly #log: Logger;
  readonly #intervalMs: number;
  #ready = true;
  #message: string | undefined;
  #timer: NodeJS.Timeout | null = null;

  /** Starts polling; the server was checked just before, so it starts as ready. */
  constructor(m: ExternalMlflow, opts: { log: Logger; intervalMs?: number }) {
    this.#m = m;
    this.#log = opts.log;
    this.#intervalMs = opts.intervalMs ?? 10_000;
    this.#schedule();
  }

  status(): { ready: boolean; restarts: number; message?: string } {
    return { ready: this.#ready, restarts: 0, ...(this.#message ? { message: this.#message } : {}) };
  }

  stop(): void {
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = null;
  }

  #schedule(): void {
    this.#timer = setTimeout(() => void this.#poll(), this.#intervalMs);
    this.#timer.unref();
  }

  async #poll(): Promise<void> {
    let problem: string | undefined;
    try {
      const res = await answer(this.#m, "health", 5000);
      if (!res.ok) problem = `the MLflow server at ${this.#m.url} answered its health check with HTTP ${res.status}`;
    } catch (err) {
      problem = (err as Error).message;
    }
    if (this.#timer === null) return;
    if (problem && this.#ready) this.#log("warn", problem);
    if (!problem && !this.#ready) this.#log("info", `the MLflow server at ${this.#m.url} answers again`);
    this.#ready = problem === undefined;
    this.#message = problem;
    this.#schedule();
  }
}
