import { CaretflowError } from "@caretflow/contracts";
import { describe, expect, it } from "vitest";
import type { CliContext } from "./context.ts";
import { runCli } from "./program.ts";
import type { StartCaretflow, StartWorker } from "./up.command.ts";

/** A context writing into strings whose server start is `start`; Ctrl-C under the test's control. */
function upContext(start: StartCaretflow) {
  const out = { stdout: "", stderr: "" };
  const handlers: ((s: "SIGINT" | "SIGTERM") => void)[] = [];
  const ctx: CliContext = {
    stdout: { write: (s: string) => (out.stdout += s) },
    stderr: { write: (s: string) => (out.stderr += s) },
    env: { CARETFLOW_HOME: "/h" },
    cwd: process.cwd(),
    userHome: "/nonexistent-home",
    fetch,
    onInterrupt(h) {
      handlers.push(h);
      return () => handlers.splice(handlers.indexOf(h), 1);
    },
    now: () => 0,
    exit: (code) => {
      throw new Error(`exit ${code}`);
    },
    loadServer: async () => start,
  };
  return {
    ctx,
    out,
    interrupt: () => {
      for (const h of [...handlers]) h("SIGINT");
    },
  };
}

describe("caretflow up --mlflow-url", () => {
  it("passes the URL to the server (credentials stay in the server's environment)", async () => {
    const calls: Parameters<StartCaretflow>[0][] = [];
    const t = upContext(async (opts) => {
      calls.push(opts);
      return { url: "http://127.0.0.1:8420", adminPassword: null, close: async () => {} };
    });
    const running = runCli(["up", "--mlflow-url", "https://mlflow.example.com", "--json"], t.ctx);
    for (let i = 0; i < 100 && t.out.stdout === ""; i++) await new Promise((r) => setTimeout(r, 10));
    t.interrupt();
    expect(await running).toBe(0);
    expect(calls[0]).toMatchObject({ mlflowUrl: "https://mlflow.example.com" });
    expect(Object.keys(calls[0] ?? {}).filter((k) => /user|password|token/i.test(k))).toEqual([]);
  });

  it("says in --help that credentials come from the environment or a file, never the command line", async () => {
    const t = upContext(() => Promise.reject(new Error("not in this test")));
    expect(await runCli(["up", "--help"], t.ctx)).toBe(0);
    const help = t.out.stdout.replace(/\s+/g, " ");
    expect(help).toContain("--mlflow-url <url> use this existing MLflow tracking server instead of starting one");
    expect(help).toContain("never given on the command line");
    for (const name of ["CARETFLOW_MLFLOW_USERNAME", "CARETFLOW_MLFLOW_PASSWORD_FILE", "CARETFLOW_MLFLOW_TOKEN_FILE"])
      expect(help).toContain(name);
  });

  it("reports a refused MLflow server with its hint and exits 1", async () => {
    const t = upContext(async () => {
      throw new CaretflowError({
        code: "mlflow_credentials_refused",
        kind: "user",
        message: "the MLflow server at https://mlflow.example.com refused caretflow's credentials (HTTP 401)",
        hint: "Check CARETFLOW_MLFLOW_USERNAME and CARETFLOW_MLFLOW_PASSWORD",
      });
    });
    expect(await runCli(["up", "--mlflow-url", "https://mlflow.example.com"], t.ctx)).toBe(1);
    expect(t.out.stderr).toContain("the MLflow server at https://mlflow.example.com refused caretflow's credentials (HTTP 401)");
    expect(t.out.stderr).toContain("Check CARETFLOW_MLFLOW_USERNAME");
  });
});

// --storage shares this file's context: `up` and `worker` both take it.
describe("caretflow up --storage and worker --storage", () => {
  it("passes the storage URL, normalised, to the server and the worker", async () => {
    const calls: Parameters<StartCaretflow>[0][] = [];
    const t = upContext(async (opts) => {
      calls.push(opts);
      return { url: "http://127.0.0.1:8420", adminPassword: null, close: async () => {} };
    });
    const running = runCli(["up", "--storage", "s3://lake/team-a/", "--json"], t.ctx);
    for (let i = 0; i < 100 && t.out.stdout === ""; i++) await new Promise((r) => setTimeout(r, 10));
    t.interrupt();
    expect(await running).toBe(0);
    expect(calls[0]).toMatchObject({ storage: "s3://lake/team-a" });

    const workers: Parameters<StartWorker>[0][] = [];
    const w = upContext(() => Promise.reject(new Error("not in this test")));
    w.ctx.loadWorker = async () => async (opts) => {
      workers.push(opts);
      return { close: async () => {} };
    };
    const worker = runCli(["worker", "--redis", "redis://127.0.0.1:6379", "--storage", "s3://lake/team-a", "--json"], w.ctx);
    for (let i = 0; i < 100 && w.out.stdout === ""; i++) await new Promise((r) => setTimeout(r, 10));
    w.interrupt();
    expect(await worker).toBe(0);
    expect(workers[0]).toMatchObject({ storage: "s3://lake/team-a", redisUrl: "redis://127.0.0.1:6379" });
  });

  it("refuses a storage URL that is not s3:// or holds credentials, without repeating it, and starts nothing", async () => {
    for (const [url, message] of [
      ["/mnt/shared", "--storage: the storage must be an s3:// URL"],
      ["s3://AKIAKEY:sup3rsecret@lake/x", "--storage: the storage URL must not hold credentials"],
    ] as const) {
      let started = false;
      const t = upContext(async () => {
        started = true;
        return { url: "", adminPassword: null, close: async () => {} };
      });
      expect(await runCli(["up", "--storage", url], t.ctx)).toBe(1);
      expect(t.out.stderr).toContain(message);
      expect(t.out.stderr).toContain("CARETFLOW_S3_ENDPOINT_URL");
      expect(t.out.stderr).not.toContain("sup3rsecret");
      expect(started).toBe(false);
    }
  });

  it("documents --storage in both commands' help", async () => {
    for (const command of ["up", "worker"]) {
      const t = upContext(() => Promise.reject(new Error("not in this test")));
      expect(await runCli([command, "--help"], t.ctx)).toBe(0);
      const help = t.out.stdout.replace(/\s+/g, " ");
      expect(help).toContain("--storage <url> shared storage for dataset files and MLflow artifacts, s3://bucket[/prefix]");
      expect(help).toContain("AWS_ACCESS_KEY_ID");
    }
  });
});
