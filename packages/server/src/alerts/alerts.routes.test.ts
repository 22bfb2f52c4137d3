import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { type AlertEvent, type AlertRule, PROJECT_HEADER } from "@caretflow/contracts";
import { afterAll, beforeAll, expect, it } from "vitest";
import { appFixture } from "../../test/app.fixture.ts";
import { forEachDatabase } from "../../test/databases.ts";
import type { ServerTables } from "../db/server.tables.ts";
import type { AlertMetricSource } from "./alert.service.ts";

/**
 * Alert rules through the HTTP API on SQLite and PostgreSQL: a real webhook receiver on loopback (allowed
 * the way a site admin allows a range), a real pipeline started when a rule fires. The metric itself comes
 * from a source whose value the test sets, as monitoring's sources will give it.
 */
let f: Awaited<ReturnType<typeof appFixture>>;
const cookies: Record<string, string> = {};
const latency = new Map<string, number | null>();
const source: AlertMetricSource = {
  info: { name: "latency_p95_ms", description: "95th percentile of prediction latency", unit: "ms" },
  async value(q) {
    const v = latency.get(q.deployment);
    if (v === undefined) throw new Error(`no such deployment '${q.deployment}'`);
    return v;
  },
};
const received: Array<{ path: string; body: Record<string, unknown> }> = [];
/** Answers to /hold, kept until the test lets them go. */
const held: Array<() => void> = [];
let receiver: Server;
let hook = "";

type Checked = { rule: AlertRule; event: AlertEvent | null };
const check = async (name: string) => (await (await call("a-editor", "POST", `/api/alerts/${name}/check`)).json()) as Checked;

function call(who: string, method: string, path: string, body?: unknown) {
  return f.app.request(path, {
    method,
    headers: { cookie: cookies[who]!, [PROJECT_HEADER]: "ops", ...(body === undefined ? {} : { "content-type": "application/json" }) },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
}

const PIPELINE = (url: string) => `version: 1
name: retrain
params:
  reason: { type: string, default: none }
steps:
  - id: tell
    type: notify
    with: { url: "${url}/pipeline", message: "retrain: \${{ params.reason }}" }
`;

forEachDatabase("alert rules", (dbs) => {
  beforeAll(async () => {
    received.length = 0;
    held.length = 0;
    latency.clear();
    receiver = createServer((req, res) => {
      let text = "";
      req.on("data", (c: Buffer) => {
        text += c.toString();
      });
      req.on("end", () => {
        const path = req.url ?? "";
        received.push({ path, body: JSON.parse(text || "{}") as Record<string, unknown> });
        if (path === "/hold") {
          held.push(() => res.writeHead(204).end());
          return;
        }
        // /busy answers 503 to its first call, /down always, /gone 404: the retry test's receivers.
        const calls = received.filter((r) => r.path === path).length;
        const status = path === "/busy" && calls === 1 ? 503 : path === "/down" ? 503 : path === "/gone" ? 404 : 204;
        res.writeHead(status).end();
      });
    });
    await new Promise<void>((ok) => receiver.listen(0, "127.0.0.1", ok));
    hook = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/hook/s3cret`;
    const { db } = await dbs.fresh<ServerTables>();
    f = await appFixture({}, { db, alertSources: [source] });
    for (const name of ["a-viewer", "a-editor", "a-owner"]) await f.auth.createUser({ username: name });
    await f.projects.create((await f.auth.userByName("a-owner"))!, "ops", null);
    await f.projects.setMember("ops", "a-viewer", "viewer");
    await f.projects.setMember("ops", "a-editor", "editor");
    for (const name of ["a-viewer", "a-editor", "a-owner"]) {
      const user = (await f.auth.userByName(name))!;
      cookies[name] = `caretflow_session=${(await f.auth.createSession(user.id)).cookie}`;
    }
    const applied = await call("a-editor", "PUT", "/api/pipelines", { yaml: PIPELINE(hook) });
    expect(applied.status, await applied.clone().text()).toBeLessThan(300);
  });
  afterAll(async () => {
    await f?.close();
    await new Promise<void>((ok) => receiver?.close(() => ok()));
  });

  it("lists the metrics rules can watch", async () => {
    const res = await call("a-viewer", "GET", "/api/alert-metrics");
    expect(await res.json()).toEqual({ metrics: [source.info] });
  });

  it("refuses an unknown metric, a refused webhook address and a viewer's change, with what to do", async () => {
    const rule = { name: "slow", deployment: "churn", metric: "latency_p95_ms", op: ">", threshold: 250 };
    const unknown = await call("a-editor", "POST", "/api/alerts", { ...rule, metric: "latency_p99" });
    expect(unknown.status).toBe(400);
    expect(await unknown.json()).toMatchObject({
      error: { code: "unknown_alert_metric", hint: expect.stringContaining("latency_p95_ms") },
    });
    const metadata = await call("a-editor", "POST", "/api/alerts", { ...rule, webhook_url: "http://169.254.169.254/latest" });
    expect(metadata.status).toBe(400);
    expect(await metadata.json()).toMatchObject({ error: { code: "address_refused" } });
    const withPassword = await call("a-editor", "POST", "/api/alerts", { ...rule, webhook_url: "http://u:p@example.com/x" });
    expect(withPassword.status).toBe(400);
    expect((await call("a-viewer", "POST", "/api/alerts", rule)).status).toBe(403);
    expect((await call("a-viewer", "GET", "/api/alerts")).status).toBe(200);
  });

  it("fires once when the metric crosses, calls the webhook and starts the pipeline, and resolves when it is back", async () => {
    latency.set("churn", 120);
    const created = await call("a-editor", "POST", "/api/alerts", {
      name: "churn-slow",
      deployment: "churn",
      metric: "latency_p95_ms",
      op: ">",
      threshold: 250,
      window_minutes: 15,
      webhook_url: hook,
      pipeline: { name: "retrain", params: { reason: "slow" } },
    });
    expect(created.status).toBe(201);
    const rule = (await created.json()) as Record<string, unknown>;
    // The webhook's path holds its secret: only the origin is ever shown.
    expect(JSON.stringify(rule)).not.toContain("s3cret");
    expect(rule).toMatchObject({ webhook_origin: new URL(hook).origin, state: "unknown", created_by: "a-editor" });
    const stored = await f.db.selectFrom("alert_rules").select("webhook_sealed").where("name", "=", "churn-slow").executeTakeFirstOrThrow();
    expect(stored.webhook_sealed).not.toContain("s3cret");

    const ok = await check("churn-slow");
    expect(ok).toMatchObject({ rule: { state: "ok", last_value: 120 }, event: null });

    latency.set("churn", 400);
    const fired = await check("churn-slow");
    expect(fired.rule).toMatchObject({ state: "firing", last_value: 400 });
    expect(fired.event).toMatchObject({ kind: "fired", value: 400, webhook: "sent (HTTP 204)", pipeline_error: null });
    const hookCall = received.find((r) => r.path === "/hook/s3cret" && r.body.state === "firing");
    expect(hookCall?.body).toMatchObject({ rule: "churn-slow", project: "ops", deployment: "churn", value: 400, threshold: 250, op: ">" });
    const run = await f.pipelines.run(fired.event!.pipeline_run!, "ops");
    expect(run.trigger).toMatchObject({ kind: "alert", detail: expect.stringContaining("churn-slow") });
    expect(run.params).toEqual({ reason: "slow" });
    // The run acts as the person who applied the pipeline.
    expect(run.createdBy).toBe("a-editor");

    // Still past the threshold, and a window without data: no new event, still firing.
    expect(await check("churn-slow")).toMatchObject({
      event: null,
      rule: { state: "firing" },
    });
    latency.set("churn", null);
    expect(await check("churn-slow")).toMatchObject({
      event: null,
      rule: { state: "firing", last_value: null },
    });

    latency.set("churn", 90);
    const resolved = await check("churn-slow");
    expect(resolved).toMatchObject({ rule: { state: "ok" }, event: { kind: "resolved", value: 90, pipeline_run: null } });
    expect(received.filter((r) => r.path === "/hook/s3cret").map((r) => r.body.state)).toEqual(["firing", "resolved"]);

    const events = (await (await call("a-viewer", "GET", "/api/alert-events?rule=churn-slow")).json()) as { events: AlertEvent[] };
    expect(events.events.map((e) => e.kind)).toEqual(["resolved", "fired"]);
    const audit = await f.audit.list({ action: "alert.*", limit: 50 });
    expect(audit.entries.map((e) => e.action)).toContain("alert.create");
    expect(JSON.stringify(audit)).not.toContain("s3cret");
  });

  it("checks every enabled rule on the timer's pass, and a source failure reads as an error, not a firing", async () => {
    latency.set("fraud", 10);
    for (const [name, deployment] of [
      ["fraud-slow", "fraud"],
      ["ghost-slow", "ghost"],
    ]) {
      const res = await call("a-editor", "POST", "/api/alerts", { name, deployment, metric: "latency_p95_ms", op: ">=", threshold: 10 });
      expect(res.status).toBe(201);
    }
    await call("a-editor", "PUT", "/api/alerts/churn-slow", { enabled: false });
    expect(await f.alerts.checkAll()).toBe(1);
    const rules = (await (await call("a-viewer", "GET", "/api/alerts")).json()) as { rules: AlertRule[] };
    const byName = Object.fromEntries(rules.rules.map((r) => [r.name, r]));
    expect(byName["fraud-slow"]).toMatchObject({ state: "firing", last_value: 10 });
    expect(byName["ghost-slow"]).toMatchObject({ state: "error", last_error: "no such deployment 'ghost'" });
    expect(byName["churn-slow"]).toMatchObject({ enabled: false, state: "unknown" });
  });

  it("tries a webhook that is busy or down again, and one that refuses only once", async () => {
    latency.set("hooks", 500);
    const origin = new URL(hook).origin;
    const outcomes: Record<string, string | null | undefined> = {};
    for (const path of ["busy", "down", "gone"]) {
      const res = await call("a-editor", "POST", "/api/alerts", {
        name: `hook-${path}`,
        deployment: "hooks",
        metric: "latency_p95_ms",
        op: ">",
        threshold: 100,
        webhook_url: `${origin}/${path}`,
      });
      expect(res.status).toBe(201);
      outcomes[path] = (await check(`hook-${path}`)).event?.webhook;
    }
    const tries = (path: string) => received.filter((r) => r.path === path).length;
    expect(outcomes.busy).toBe("sent (HTTP 204) after 2 tries");
    expect(tries("/busy")).toBe(2);
    expect(outcomes.down).toBe("failed: HTTP 503 (tried 3 times)");
    expect(tries("/down")).toBe(3);
    expect(outcomes.gone).toBe("failed: HTTP 404");
    expect(tries("/gone")).toBe(1);
    for (const path of ["busy", "down", "gone"]) expect((await call("a-editor", "DELETE", `/api/alerts/hook-${path}`)).status).toBe(200);
  });

  it("checks a pass's rules side by side: a webhook that does not answer holds only its own rule", async () => {
    latency.set("held", 500);
    latency.set("quick", 500);
    const origin = new URL(hook).origin;
    const rule = { metric: "latency_p95_ms", op: ">", threshold: 100 };
    // Named so that the held rule comes first in the pass.
    expect(
      (await call("a-editor", "POST", "/api/alerts", { ...rule, name: "a-held", deployment: "held", webhook_url: `${origin}/hold` }))
        .status,
    ).toBe(201);
    expect((await call("a-editor", "POST", "/api/alerts", { ...rule, name: "z-quick", deployment: "quick" })).status).toBe(201);
    const pass = f.alerts.checkAll();
    const state = async (name: string) => ((await (await call("a-viewer", "GET", `/api/alerts/${name}`)).json()) as AlertRule).state;
    // The held rule's webhook is called and not answered; the other rule is checked meanwhile.
    await expect.poll(() => held.length, { timeout: 20_000 }).toBe(1);
    await expect.poll(() => state("z-quick"), { timeout: 20_000 }).toBe("firing");
    const heldEvents = async () =>
      ((await (await call("a-viewer", "GET", "/api/alert-events?rule=a-held")).json()) as { events: AlertEvent[] }).events;
    // Its event is stored once the webhook has answered.
    expect(await heldEvents()).toEqual([]);
    expect(received.filter((r) => r.path === "/hold").length).toBe(1);
    for (const answer of held.splice(0)) answer();
    expect(await pass).toBeGreaterThanOrEqual(2);
    expect((await heldEvents()).map((e) => [e.kind, e.webhook])).toEqual([["fired", "sent (HTTP 204)"]]);
    for (const name of ["a-held", "z-quick"]) expect((await call("a-editor", "DELETE", `/api/alerts/${name}`)).status).toBe(200);
  });

  it("changes and deletes a rule, keeping its events; removing the webhook forgets the URL", async () => {
    const changed = await call("a-editor", "PUT", "/api/alerts/fraud-slow", { threshold: 50, webhook_url: null });
    expect(await changed.json()).toMatchObject({ threshold: 50, webhook_origin: null, state: "unknown" });
    const deleted = await call("a-editor", "DELETE", "/api/alerts/fraud-slow");
    expect(deleted.status).toBe(200);
    expect((await call("a-viewer", "GET", "/api/alerts/fraud-slow")).status).toBe(404);
    const events = (await (await call("a-viewer", "GET", "/api/alert-events?rule=fraud-slow")).json()) as { events: AlertEvent[] };
    expect(events.events.map((e) => e.kind)).toEqual(["fired"]);
  });
});
