import type { Health, JobEvent } from "@caretflow/contracts";

/** A tiny client for integration tests against a started caretflow. */
export function client(base: string, auth: { cookie?: string; token?: string }) {
  const headers = (extra: Record<string, string> = {}): Record<string, string> => ({
    ...(auth.cookie ? { cookie: auth.cookie } : {}),
    ...(auth.token ? { authorization: `Bearer ${auth.token}` } : {}),
    ...extra,
  });
  const call = async <T>(method: string, path: string, body?: unknown): Promise<{ status: number; body: T }> => {
    const res = await fetch(base + path, {
      method,
      headers: headers(body === undefined ? {} : { "content-type": "application/json" }),
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    const text = await res.text();
    return { status: res.status, body: (text ? JSON.parse(text) : null) as T };
  };
  return {
    headers,
    get: <T>(path: string) => call<T>("GET", path),
    post: <T>(path: string, body?: unknown) => call<T>("POST", path, body ?? {}),
    put: <T>(path: string, body?: unknown) => call<T>("PUT", path, body ?? {}),
    delete: <T>(path: string) => call<T>("DELETE", path),
    raw: (path: string, init: RequestInit = {}) =>
      fetch(base + path, { ...init, headers: headers(init.headers as Record<string, string>) }),
  };
}

export type TestClient = ReturnType<typeof client>;

/** Signs in as `username` with the password and answers a client that sends the session cookie. */
export async function signIn(base: string, password: string, username = "admin"): Promise<TestClient> {
  const res = await fetch(`${base}/api/auth/login`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ username, password }),
  });
  if (res.status !== 200) throw new Error(`sign-in as ${username}: HTTP ${res.status}`);
  return client(base, { cookie: res.headers.get("set-cookie")!.split(";")[0]! });
}

/** Waits until /api/health says the part (the engine or MLflow) is ready. */
export async function waitReady(api: TestClient, part: "engine" | "mlflow", timeoutMs = 180_000): Promise<void> {
  const t0 = Date.now();
  while (!(await api.get<Health>("/api/health")).body[part].ready) {
    if (Date.now() - t0 > timeoutMs) throw new Error(`${part} not ready after ${timeoutMs / 1000} s`);
    await new Promise((r) => setTimeout(r, 300));
  }
}

/**
 * Reads a job's SSE stream until it closes, or until `stopAfter` events have
 * arrived (then disconnects, like a client losing its connection).
 */
export async function readJobEvents(
  base: string,
  jobId: string,
  headers: Record<string, string>,
  opts: { lastEventId?: number; stopAfter?: number; onEvent?: (e: JobEvent) => void } = {},
): Promise<JobEvent[]> {
  const res = await fetch(`${base}/api/jobs/${jobId}/events`, {
    headers: { ...headers, accept: "text/event-stream", ...(opts.lastEventId ? { "last-event-id": String(opts.lastEventId) } : {}) },
  });
  if (res.status !== 200 || !res.body) throw new Error(`events: HTTP ${res.status}`);
  const reader = res.body.getReader();
  const decoder = new TextDecoder();
  const events: JobEvent[] = [];
  let buffer = "";
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    buffer += decoder.decode(value, { stream: true });
    let cut = buffer.indexOf("\n\n");
    while (cut >= 0) {
      const block = buffer.slice(0, cut);
      buffer = buffer.slice(cut + 2);
      const data = block
        .split("\n")
        .filter((l) => l.startsWith("data:"))
        .map((l) => l.slice(5).trimStart())
        .join("\n");
      if (data) {
        const e = JSON.parse(data) as JobEvent;
        events.push(e);
        opts.onEvent?.(e);
        if (opts.stopAfter !== undefined && events.length >= opts.stopAfter) {
          await reader.cancel();
          return events;
        }
      }
      cut = buffer.indexOf("\n\n");
    }
  }
  return events;
}

/** Polls `fn` every 300 ms until it answers something truthy; fails after `timeoutMs` naming `what`. */
export async function until<T>(what: string, fn: () => Promise<T | null | undefined | false>, timeoutMs = 120_000): Promise<T> {
  const t0 = Date.now();
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() - t0 > timeoutMs) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 300));
  }
}
