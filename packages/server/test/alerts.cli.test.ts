import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { AlertMetricSource } from "../src/alerts/alert.service.ts";
import { servedCli } from "./cli.fixture.ts";

/** `caretflow alerts ...` against the real app over a socket, with a webhook receiver on loopback. */
let s: Awaited<ReturnType<typeof servedCli>>;
let receiver: Server;
let hook = "";
const posted: string[] = [];
let errorRate: number | null = 0.01;
const source: AlertMetricSource = {
  info: { name: "error_rate", description: "share of failed predictions", unit: "ratio" },
  value: async () => errorRate,
};

beforeAll(async () => {
  receiver = createServer((req, res) => {
    let body = "";
    req.on("data", (c: Buffer) => {
      body += c.toString();
    });
    req.on("end", () => {
      posted.push(body);
      res.writeHead(200).end("ok");
    });
  });
  await new Promise<void>((ok) => receiver.listen(0, "127.0.0.1", ok));
  hook = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/alerts/t0ken`;
  s = await servedCli({ alertSources: [source] });
}, 120_000);

afterAll(async () => {
  await s?.close();
  await new Promise<void>((ok) => receiver?.close(() => ok()));
});

describe("caretflow alerts", () => {
  it("creates, checks, lists, updates and deletes a rule, and shows its events", async () => {
    const metrics = await s.cli(["alerts", "metrics"]);
    expect(metrics.stdout).toContain("error_rate");

    const bad = await s.cli(["alerts", "create", "errors", "--deployment", "churn", "--metric", "error_rate", "--when", "about 5"]);
    expect(bad.code).not.toBe(0);
    expect(bad.stderr).toContain("--when takes an operator and a number");

    const created = await s.cli([
      "alerts",
      "create",
      "errors",
      "--deployment",
      "churn",
      "--metric",
      "error_rate",
      "--when",
      ">=0.05",
      "--window",
      "2h",
      "--webhook",
      hook,
    ]);
    expect(created.code, created.stderr).toBe(0);
    expect(created.stdout).toContain("created alert errors: error_rate >= 0.05 on churn");

    expect((await s.cli(["alerts", "check", "errors"])).stdout).toContain("errors: ok (error_rate = 0.01)");
    errorRate = 0.2;
    const fired = await s.cli(["alerts", "check", "errors"]);
    expect(fired.stdout).toContain("errors: firing (error_rate = 0.2)");
    expect(fired.stdout).toContain("fired: error_rate of churn is 0.2 over the last 120 min");
    expect(JSON.parse(posted.at(-1)!)).toMatchObject({ rule: "errors", state: "firing", value: 0.2 });

    const list = await s.cli(["alerts", "list"]);
    expect(list.stdout).toMatch(/errors\s+churn\s+error_rate >= 0.05\s+120m\s+firing\s+0.2/);
    expect(list.stdout).not.toContain("t0ken");

    const json = JSON.parse((await s.cli(["alerts", "list", "--json"])).stdout) as { rules: Array<Record<string, unknown>> };
    expect(json.rules[0]).toMatchObject({ name: "errors", webhook_origin: new URL(hook).origin, window_minutes: 120 });

    const updated = await s.cli(["alerts", "update", "errors", "--when", ">0.5", "--no-webhook", "--disable"]);
    expect(updated.code, updated.stderr).toBe(0);
    const after = JSON.parse((await s.cli(["alerts", "list", "--json"])).stdout) as { rules: Array<Record<string, unknown>> };
    expect(after.rules[0]).toMatchObject({ op: ">", threshold: 0.5, webhook_origin: null, enabled: false });

    const events = await s.cli(["alerts", "events", "--rule", "errors"]);
    expect(events.stdout).toMatch(/errors\s+fired\s+0.2\s+sent \(HTTP 200\)/);

    expect((await s.cli(["alerts", "delete", "errors"])).stdout).toContain("deleted alert errors");
    expect((await s.cli(["alerts", "list"])).stdout).toContain("no alert rules");
  });

  it("refuses --param without --pipeline and an unknown metric, saying what to do", async () => {
    const params = await s.cli(["alerts", "create", "x", "--deployment", "d", "--metric", "error_rate", "--when", ">1", "--param", "a=1"]);
    expect(params.code).not.toBe(0);
    expect(params.stderr).toContain("--param needs --pipeline");
    const unknown = await s.cli(["alerts", "create", "x", "--deployment", "d", "--metric", "nope", "--when", ">1"]);
    expect(unknown.code).not.toBe(0);
    expect(unknown.stderr).toContain("error_rate");
  });
});
