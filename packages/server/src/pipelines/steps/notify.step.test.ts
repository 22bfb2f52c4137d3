import { mkdtemp, rm } from "node:fs/promises";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { AddressPolicy } from "@caretflow/connectors";
import { StepFailure } from "@caretflow/orchestrator";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { notifyStep } from "./notify.step.ts";
import { stepContext, stepFailure } from "./step.test-support.ts";

/**
 * The notify step against a real local HTTP server, with loopback allowed the way a site admin allows a
 * range (`--allow-network 127.0.0.0/8`), and refused under the default policy.
 */
const LOOPBACK: AddressPolicy = { allowPrivateNetworks: false, allowList: ["127.0.0.0/8"] };
const DEFAULT_POLICY: AddressPolicy = { allowPrivateNetworks: false };

interface Received {
  method: string;
  path: string;
  headers: IncomingMessage["headers"];
  body: unknown;
}
const received: Received[] = [];
/** What the server answers, by path. */
const answers: Record<string, (res: ServerResponse) => void> = {
  "/hook/ok": (res) => res.writeHead(204).end(),
  "/hook/broken": (res) => res.writeHead(500, { "content-type": "text/plain" }).end(`database on fire ${"x".repeat(400)}`),
  "/hook/refuses": (res) => res.writeHead(400, { "content-type": "application/json" }).end('{"error":"unknown channel"}'),
  "/hook/moved": (res) => res.writeHead(302, { location: "http://169.254.169.254/latest/meta-data" }).end(),
  "/hook/slow": () => {}, // never answers
};
let server: Server;
let base = "";
let dir = "";

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "caretflow-notify-"));
  server = createServer((req, res) => {
    let text = "";
    req.on("data", (c: Buffer) => {
      text += c.toString("utf8");
    });
    req.on("end", () => {
      received.push({ method: req.method ?? "", path: req.url ?? "", headers: req.headers, body: text ? JSON.parse(text) : null });
      (answers[(req.url ?? "").split("?")[0] ?? ""] ?? ((r: ServerResponse) => r.writeHead(404).end()))(res);
    });
  });
  await new Promise<void>((ok) => server.listen(0, "127.0.0.1", ok));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  server.closeAllConnections();
  await new Promise((ok) => server.close(ok));
  if (dir) await rm(dir, { recursive: true, force: true });
});

function context(inputs: Record<string, unknown>, signal: AbortSignal = new AbortController().signal) {
  const ctx = stepContext({ type: "notify", id: "tell", inputs, workDir: dir, signal, run: { id: "run-7" } });
  return { ctx, lines: ctx.lines };
}

const step = (policy = LOOPBACK, more: Partial<Parameters<typeof notifyStep>[0]> = {}) =>
  notifyStep({ addressPolicy: () => policy, ...more });

describe("notify", () => {
  it("POSTs the run, the step and the message as JSON, and nothing of caretflow's credentials", async () => {
    received.length = 0;
    const { ctx, lines } = context({ url: `${base}/hook/ok?token=s3cret`, message: "AUC 0.91, promoted" });
    expect(await step().run(ctx)).toEqual({});
    expect(received).toHaveLength(1);
    const [got] = received;
    expect(got?.method).toBe("POST");
    expect(got?.path).toBe("/hook/ok?token=s3cret");
    expect(got?.headers["content-type"]).toBe("application/json");
    expect(got?.headers.host).toBe(new URL(base).host);
    expect(got?.headers.authorization).toBeUndefined();
    expect(got?.headers.cookie).toBeUndefined();
    expect(got?.body).toEqual({
      pipeline: "nightly",
      project: "alpha",
      run: "run-7",
      step: "tell",
      message: "AUC 0.91, promoted",
      started_at: "2026-12-02T01:00:00.000Z",
      started_by: "alice",
    });
    // The log names the origin, never the path or query where webhook secrets live.
    expect(lines.join("\n")).not.toContain("s3cret");
    expect(lines).toEqual([`POST ${base} (127.0.0.1)`, "the webhook answered HTTP 204"]);
  });

  it("sends a summary of the run when no message is given", async () => {
    received.length = 0;
    const runSteps = async (id: string) =>
      id === "run-7"
        ? [
            { id: "import", status: "succeeded" as const },
            { id: "train", status: "succeeded" as const },
            { id: "register", status: "skipped" as const },
            { id: "tell", status: "running" as const },
          ]
        : null;
    await step(LOOPBACK, { runSteps }).run(context({ url: `${base}/hook/ok` }).ctx);
    expect(received[0]?.body).toMatchObject({
      message:
        "pipeline nightly run run-7 (project alpha, started 2026-12-02T01:00:00.000Z by alice): 2 succeeded (import, train); 1 skipped (register); 1 running (tell)",
      steps: [
        { id: "import", status: "succeeded" },
        { id: "train", status: "succeeded" },
        { id: "register", status: "skipped" },
        { id: "tell", status: "running" },
      ],
    });
    // Without the run's steps (none given, or the store failing) the summary names the run only.
    await step().run(context({ url: `${base}/hook/ok` }).ctx);
    const failing = context({ url: `${base}/hook/ok` });
    await step(LOOPBACK, { runSteps: () => Promise.reject(new Error("database is locked")) }).run(failing.ctx);
    const head = "pipeline nightly run run-7 (project alpha, started 2026-12-02T01:00:00.000Z by alice)";
    expect(received.slice(1).map((r) => r.body)).toEqual([
      expect.objectContaining({ message: head }),
      expect.objectContaining({ message: head }),
    ]);
    expect(failing.lines[0]).toBe("could not read the run's steps for the summary: database is locked");
  });

  it("fails transiently on a 5xx, quoting the status and the first 200 characters of the body", async () => {
    const f = await stepFailure(step().run(context({ url: `${base}/hook/broken` }).ctx));
    expect(f.code).toBe("webhook_failed");
    expect(f.transient).toBe(true);
    expect(f.message).toBe(`the webhook at ${base} answered HTTP 500: database on fire ${"x".repeat(200 - "database on fire ".length)}`);
  });

  it("fails for good on a 4xx, with what the service said", async () => {
    const f = await stepFailure(step().run(context({ url: `${base}/hook/refuses` }).ctx));
    expect(f.transient).toBe(false);
    expect(f.message).toBe(`the webhook at ${base} answered HTTP 400: {"error":"unknown channel"}`);
  });

  it("does not follow a redirect (it could lead to an internal address)", async () => {
    received.length = 0;
    const f = await stepFailure(step().run(context({ url: `${base}/hook/moved` }).ctx));
    expect(f.message).toBe(`the webhook at ${base} answered HTTP 302`);
    expect(f.hint).toContain("does not follow redirects");
    expect(received.map((r) => r.path)).toEqual(["/hook/moved"]);
  });

  it("gives up on a webhook that does not answer in time, transiently", async () => {
    const started = Date.now();
    const f = await stepFailure(step(LOOPBACK, { timeoutMs: 300 }).run(context({ url: `${base}/hook/slow` }).ctx));
    expect(f.code).toBe("webhook_timeout");
    expect(f.transient).toBe(true);
    expect(f.message).toBe(`the webhook at ${base} did not answer within 0.3 s`);
    expect(Date.now() - started).toBeLessThan(5000);
  });

  it("stops when the run is cancelled, with the runtime's reason", async () => {
    const cancel = new AbortController();
    const reason = new StepFailure("run_cancelled", "the run was cancelled");
    setTimeout(() => cancel.abort(reason), 200);
    const started = Date.now();
    const err = await step()
      .run(context({ url: `${base}/hook/slow` }, cancel.signal).ctx)
      .catch((e: unknown) => e);
    expect(err).toBe(reason);
    expect(Date.now() - started).toBeLessThan(5000);
  });

  it("fails transiently when nothing listens", async () => {
    const closed = createServer();
    await new Promise<void>((ok) => closed.listen(0, "127.0.0.1", ok));
    const port = (closed.address() as AddressInfo).port;
    await new Promise((ok) => closed.close(ok));
    const f = await stepFailure(step().run(context({ url: `http://127.0.0.1:${port}/hook` }).ctx));
    expect(f.code).toBe("webhook_unreachable");
    expect(f.transient).toBe(true);
    expect(f.message).toContain("ECONNREFUSED");
  });

  it("refuses loopback, private and metadata addresses under the default policy, sending nothing", async () => {
    received.length = 0;
    for (const [url, why] of [
      [`${base}/hook/ok`, "a loopback address"],
      [`http://localhost:${new URL(base).port}/hook/ok`, "a loopback address"],
      ["http://10.1.2.3/hook", "a private network address"],
      ["http://169.254.169.254/latest/meta-data", "the cloud metadata address"],
      ["http://[::1]:8080/hook", "a loopback address"],
    ] as const) {
      const f = await stepFailure(step(DEFAULT_POLICY).run(context({ url }).ctx));
      expect(f.code, url).toBe("address_refused");
      expect(f.transient).toBe(false);
      expect(f.message, url).toContain(`it is ${why}`);
    }
    expect(received).toEqual([]);
  });

  it("refuses a URL carrying a user name or password", async () => {
    const f = await stepFailure(step().run(context({ url: `http://user:pw@127.0.0.1:${new URL(base).port}/hook/ok` }).ctx));
    expect(f.code).toBe("bad_input");
    expect(f.message).not.toContain("pw");
  });
});
