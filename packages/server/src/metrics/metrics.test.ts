import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { appFixture } from "../../test/app.fixture.ts";
import { metricsToken, routePattern, ServerMetrics } from "./metrics.ts";

const TOKEN = "metrics-token-0123456789abcdef";
/** A sample's value from the text exposition format, by its full name with labels. */
const sample = (text: string, series: string) => {
  const line = text.split("\n").find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
};

describe("observePrediction", () => {
  it("feeds caretflow_predictions_total and the caretflow_prediction_seconds histogram", async () => {
    const m = new ServerMetrics({ processMetrics: false });
    m.observePrediction({ deployment: "churn", version: 3, status: "ok", seconds: 0.02, shadow: false });
    m.observePrediction({ deployment: "churn", version: 3, status: "ok", seconds: 0.3, shadow: false });
    m.observePrediction({ deployment: "churn", version: "4", status: "error", seconds: 1.5, shadow: true });
    const text = await m.registry.metrics();
    const ok = 'deployment="churn",version="3",status="ok",shadow="false"';
    const shadow = 'deployment="churn",version="4",status="error",shadow="true"';
    expect(sample(text, `caretflow_predictions_total{${ok}}`)).toBe(2);
    expect(sample(text, `caretflow_predictions_total{${shadow}}`)).toBe(1);
    expect(sample(text, `caretflow_prediction_seconds_count{${ok}}`)).toBe(2);
    expect(sample(text, `caretflow_prediction_seconds_sum{${ok}}`)).toBeCloseTo(0.32);
    expect(sample(text, `caretflow_prediction_seconds_bucket{le="0.025",${ok}}`)).toBe(1);
    expect(sample(text, `caretflow_prediction_seconds_bucket{le="0.5",${ok}}`)).toBe(2);
    expect(sample(text, `caretflow_prediction_seconds_bucket{le="1",${shadow}}`)).toBe(0);
  });
});

describe("routePattern", () => {
  it.each([
    ["GET", "/api/jobs/job_123", "/api/jobs/{id}"],
    ["POST", "/api/drift", "/api/drift"],
    ["GET", "/api/datasets/juice/versions/2/preview", "/api/datasets/{name}/versions/{version}/preview"],
    ["GET", "/api/nothing/here", "/api/(unknown)"],
    ["GET", "/mlflow/ajax-api/2.0/x", "/mlflow/*"],
    ["GET", "/metrics", "/metrics"],
    ["GET", "/datasets/juice", "web"],
  ])("%s %s -> %s", (method, path, pattern) => {
    expect(routePattern(method, path)).toBe(pattern);
  });
});

describe("metricsToken", () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "caretflow-metrics-"));
  });
  afterAll(() => rm(dir, { recursive: true, force: true }));

  it("reads the file, else the variable, else the variable's file; none turns /metrics off", async () => {
    const file = join(dir, "token");
    await writeFile(file, `${TOKEN}\n`);
    expect(metricsToken(file, { CARETFLOW_METRICS_TOKEN: "other-token-0123456789" })).toBe(TOKEN);
    expect(metricsToken(undefined, { CARETFLOW_METRICS_TOKEN: "other-token-0123456789" })).toBe("other-token-0123456789");
    expect(metricsToken(undefined, { CARETFLOW_METRICS_TOKEN_FILE: file })).toBe(TOKEN);
    expect(metricsToken(undefined, {})).toBeNull();
  });

  it("refuses a short token and a missing file, saying what to do", () => {
    expect(() => metricsToken(undefined, { CARETFLOW_METRICS_TOKEN: "short" })).toThrow(/shorter than 16/);
    expect(() => metricsToken(join(dir, "missing"), {})).toThrow(/ENOENT/);
  });
});

describe("GET /metrics", () => {
  let on: Awaited<ReturnType<typeof appFixture>>;
  let off: Awaited<ReturnType<typeof appFixture>>;
  beforeAll(async () => {
    const registry = new ServerMetrics({ processMetrics: true });
    on = await appFixture({ metrics: { registry, token: TOKEN } });
    registry.trackJobs(on.jobs.counts);
    off = await appFixture({ metrics: { registry: new ServerMetrics({ processMetrics: false }), token: null } });
  });
  afterAll(async () => {
    await on.close();
    await off.close();
  });

  it("answers 404 when no token is configured", async () => {
    const res = await off.app.request("/metrics", { headers: { authorization: `Bearer ${TOKEN}` } });
    expect(res.status).toBe(404);
    expect(((await res.json()) as { error: { hint: string } }).error.hint).toMatch(/--metrics-token-file/);
  });

  it("answers 401 without the metrics token, and to a user's session", async () => {
    const tries: Record<string, string>[] = [{}, { authorization: "Bearer wrong-token-0123456789" }, { cookie: await on.login() }];
    for (const headers of tries) {
      const res = await on.app.request("/metrics", { headers });
      expect(res.status).toBe(401);
      expect(res.headers.get("www-authenticate")).toMatch(/^Bearer/);
    }
  });

  it("serves request counts by route pattern, job gauges and process metrics with the token", async () => {
    const cookie = await on.login();
    for (const id of ["job_a", "job_b"]) expect((await on.app.request(`/api/jobs/${id}`, { headers: { cookie } })).status).toBe(404);
    const res = await on.app.request("/metrics", { headers: { authorization: `Bearer ${TOKEN}` } });
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toMatch(/^text\/plain/);
    const text = await res.text();
    expect(sample(text, 'caretflow_http_requests_total{method="GET",route="/api/jobs/{id}",status="404"}')).toBe(2);
    expect(sample(text, 'caretflow_http_request_seconds_count{method="GET",route="/api/jobs/{id}",status="404"}')).toBe(2);
    expect(sample(text, 'caretflow_http_requests_total{method="GET",route="/metrics",status="401"}')).toBeGreaterThanOrEqual(1);
    expect(sample(text, 'caretflow_executor_jobs{state="running"}')).toBe(0);
    expect(text).toMatch(/^# TYPE caretflow_jobs gauge$/m);
    expect(text).toMatch(/^caretflow_process_cpu_seconds_total /m);
    expect(text).toMatch(/^caretflow_nodejs_eventloop_lag_p99_seconds /m);
  });
});
