import { mkdtempSync, writeFileSync } from "node:fs";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { type ExternalMlflow, ExternalMlflowMonitor, externalMlflowConfig } from "./tracking.external.ts";

const dir = mkdtempSync(join(tmpdir(), "caretflow-extml-unit-"));
writeFileSync(join(dir, "password"), "from-a-file\n");
writeFileSync(join(dir, "token"), "token-from-a-file\n");
const basic = (u: string, p: string) => `Basic ${Buffer.from(`${u}:${p}`).toString("base64")}`;

describe("externalMlflowConfig", () => {
  const ok: Array<[string, Parameters<typeof externalMlflowConfig>[0], Record<string, string>, ExternalMlflow | null]> = [
    ["no URL: caretflow runs its own MLflow", {}, { CARETFLOW_MLFLOW_USERNAME: "u" }, null],
    [
      "a URL without credentials",
      { url: "https://ml.example.com/" },
      {},
      { url: "https://ml.example.com", authorization: null, engineEnv: {} },
    ],
    [
      "user name and password from the environment, prefix kept",
      {},
      { CARETFLOW_MLFLOW_URL: "http://10.0.0.5:5000/mlflow//", CARETFLOW_MLFLOW_USERNAME: "u", CARETFLOW_MLFLOW_PASSWORD: "p" },
      {
        url: "http://10.0.0.5:5000/mlflow",
        authorization: basic("u", "p"),
        engineEnv: { MLFLOW_TRACKING_USERNAME: "u", MLFLOW_TRACKING_PASSWORD: "p" },
      },
    ],
    [
      "the password from a file",
      { url: "http://h" },
      { CARETFLOW_MLFLOW_USERNAME: "u", CARETFLOW_MLFLOW_PASSWORD_FILE: join(dir, "password") },
      {
        url: "http://h",
        authorization: basic("u", "from-a-file"),
        engineEnv: { MLFLOW_TRACKING_USERNAME: "u", MLFLOW_TRACKING_PASSWORD: "from-a-file" },
      },
    ],
    [
      "options win over the environment",
      { url: "http://a", token: "t1" },
      { CARETFLOW_MLFLOW_URL: "http://b", CARETFLOW_MLFLOW_TOKEN: "t2" },
      { url: "http://a", authorization: "Bearer t1", engineEnv: { MLFLOW_TRACKING_TOKEN: "t1" } },
    ],
    [
      "a token from a file, with a private CA for the engine",
      { url: "https://h" },
      { CARETFLOW_MLFLOW_TOKEN_FILE: join(dir, "token"), MLFLOW_TRACKING_SERVER_CERT_PATH: "/etc/ca.pem" },
      {
        url: "https://h",
        authorization: "Bearer token-from-a-file",
        engineEnv: { MLFLOW_TRACKING_TOKEN: "token-from-a-file", MLFLOW_TRACKING_SERVER_CERT_PATH: "/etc/ca.pem" },
      },
    ],
  ];
  it.each(ok)("%s", (_, settings, env, expected) => {
    expect(externalMlflowConfig(settings, env)).toEqual(expected);
  });

  const refused: Array<[string, Parameters<typeof externalMlflowConfig>[0], Record<string, string>, RegExp]> = [
    ["not http(s)", { url: "file:///tmp/mlruns" }, {}, /^the MLflow URL 'file:\/\/\/tmp\/mlruns' is not an http\(s\) URL$/],
    ["not a URL", { url: "mlflow.example.com" }, {}, /is not an http\(s\) URL/],
    [
      "credentials in the URL",
      { url: "https://u:s3cr3t@ml.example.com/x" },
      {},
      /^the MLflow URL https:\/\/ml\.example\.com\/x carries credentials/,
    ],
    ["credentials in a URL that is not http(s)", { url: "ftp://u:s3/cr3t@host" }, {}, /^the MLflow URL '…@host' is not/],
    ["a query", { url: "https://h/?token=s3cr3t" }, {}, /has a query or fragment/],
    [
      "token and password",
      { url: "http://h", token: "t" },
      { CARETFLOW_MLFLOW_USERNAME: "u", CARETFLOW_MLFLOW_PASSWORD: "s3cr3t" },
      /both a token/,
    ],
    ["a user name without password", { url: "http://h" }, { CARETFLOW_MLFLOW_USERNAME: "u" }, /password is missing/],
    ["a password without user name", { url: "http://h", password: "s3cr3t" }, {}, /user name is missing/],
    [
      "an unreadable password file",
      { url: "http://h" },
      { CARETFLOW_MLFLOW_USERNAME: "u", CARETFLOW_MLFLOW_PASSWORD_FILE: join(dir, "nope") },
      /ENOENT/,
    ],
  ];
  it.each(refused)("refuses %s, never echoing the secret", (_, settings, env, message) => {
    let err: unknown;
    try {
      externalMlflowConfig(settings, env);
    } catch (e) {
      err = e;
    }
    expect(err).toMatchObject({ code: "invalid_mlflow_settings", kind: "user", message: expect.stringMatching(message) });
    expect(JSON.stringify(err) + (err as Error).message).not.toContain("s3cr3t");
  });
});

describe("ExternalMlflowMonitor", () => {
  it("reports the server not ready while it does not answer, and ready again once it does", async () => {
    let up = true;
    const seen: string[] = [];
    const server = createServer((req, res) => {
      seen.push(String(req.headers.authorization));
      res.writeHead(up ? 200 : 503).end("OK");
    });
    await new Promise<void>((ok) => server.listen(0, "127.0.0.1", ok));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/prefix`;
    const logs: string[] = [];
    const monitor = new ExternalMlflowMonitor(
      { url, authorization: "Bearer t", engineEnv: {} },
      { intervalMs: 20, log: (level, msg) => logs.push(`${level}: ${msg}`) },
    );
    const until = async (ready: boolean) => {
      for (let i = 0; i < 200 && monitor.status().ready !== ready; i++) await new Promise((r) => setTimeout(r, 10));
      return monitor.status();
    };
    try {
      up = false;
      expect(await until(false)).toEqual({
        ready: false,
        restarts: 0,
        message: `the MLflow server at ${url} answered its health check with HTTP 503`,
      });
      up = true;
      expect(await until(true)).toEqual({ ready: true, restarts: 0 });
      expect(logs).toEqual([
        `warn: the MLflow server at ${url} answered its health check with HTTP 503`,
        `info: the MLflow server at ${url} answers again`,
      ]);
      expect(seen.every((a) => a === "Bearer t")).toBe(true);
    } finally {
      monitor.stop();
      await new Promise((ok) => server.close(ok));
    }
  });
});
