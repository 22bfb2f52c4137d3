import { CaretflowError } from "@caretflow/contracts";
import { afterEach, describe, expect, it } from "vitest";
import { createClient } from "./client.ts";
import type { Connection } from "./connection.ts";
import { closedPort, sendJson, startHttp } from "./http-fixture.test-support.ts";

let stop: (() => Promise<void>) | undefined;
afterEach(async () => {
  await stop?.();
  stop = undefined;
});

async function serve(status: number, body: unknown, raw = false): Promise<Connection> {
  const seen: string[] = [];
  const s = await startHttp((req, res) => {
    seen.push(req.headers.authorization ?? "");
    if (raw) {
      res.writeHead(status, { "content-type": "text/plain" });
      res.end(String(body));
    } else sendJson(res, status, body);
  });
  stop = s.close;
  return { url: s.url, token: "secret-token", source: "file", file: "/h/cli.json" };
}

async function failure(p: Promise<unknown>): Promise<CaretflowError> {
  const err = await p.then(
    () => null,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(CaretflowError);
  return err as CaretflowError;
}

describe("createClient", () => {
  it("sends the bearer token and parses the answer with the schema", async () => {
    let auth = "";
    const s = await startHttp((req, res) => {
      auth = req.headers.authorization ?? "";
      sendJson(res, 200, { datasets: [] });
    });
    stop = s.close;
    const client = createClient({ url: s.url, token: "tok", source: "env" }, fetch);
    expect(await client.GET("/api/datasets")).toEqual({ datasets: [] });
    expect(auth).toBe("Bearer tok");
  });

  it("turns the server's error body into its message and hint", async () => {
    const conn = await serve(404, {
      error: { code: "dataset_not_found", kind: "user", message: "dataset 'x' does not exist", hint: "run `caretflow datasets list`" },
    });
    const err = await failure(createClient(conn, fetch).GET("/api/datasets/{name}", { params: { path: { name: "x" } } }));
    expect(err).toMatchObject({
      code: "dataset_not_found",
      status: 404,
      message: "dataset 'x' does not exist",
      hint: "run `caretflow datasets list`",
    });
  });

  it("says a 401 means the token was rejected, where the token came from, and how to get one", async () => {
    const conn = await serve(401, { error: { code: "unauthorized", kind: "user", message: "invalid token" } });
    const err = await failure(createClient(conn, fetch).GET("/api/datasets"));
    expect(err.status).toBe(401);
    expect(err.message).toContain("rejected the token in /h/cli.json");
    expect(err.message).not.toContain("secret-token");
    expect(err.hint).toContain("caretflow up");
  });

  it("reports a non-JSON error page with its status", async () => {
    const conn = await serve(502, "Bad Gateway", true);
    const err = await failure(createClient(conn, fetch).GET("/api/datasets"));
    expect(err).toMatchObject({ code: "http_502", kind: "operational" });
    expect(err.message).toContain("Bad Gateway");
  });

  it("refuses an answer that does not match the contract", async () => {
    const conn = await serve(200, { datasets: [{ name: "x" }] });
    const err = await failure(createClient(conn, fetch).GET("/api/datasets"));
    expect(err).toMatchObject({ code: "unexpected_response", kind: "bug" });
    expect(err.message).toContain("datasets.0");
  });

  it("says to run caretflow up when nothing listens", async () => {
    const port = await closedPort();
    const client = createClient({ url: `http://127.0.0.1:${port}`, token: "t", source: "file" }, fetch);
    const err = await failure(client.GET("/api/datasets"));
    expect(err.code).toBe("server_unreachable");
    expect(err.message).toContain("ECONNREFUSED");
    expect(err.hint).toContain("caretflow up");
  });
});

describe("paths", () => {
  it("encodes parameters, and keeps the folders of an artifact path", async () => {
    const seen: string[] = [];
    const s = await startHttp((req, res) => {
      seen.push(req.url ?? "");
      res.writeHead(200, { "content-type": "text/plain" });
      res.end("x");
    });
    stop = s.close;
    const client = createClient({ url: s.url, token: "t", source: "env" }, fetch);
    await client.raw("get", "/api/datasets/{name}/versions/{version}/download", { params: { path: { name: "a b/../c", version: "1" } } });
    await client.raw("get", "/api/runs/{runId}/artifacts/{path}", { params: { path: { runId: "r 1", path: "plots/a b.png" } } });
    expect(seen).toEqual(["/api/datasets/a%20b%2F..%2Fc/versions/1/download", "/api/runs/r%201/artifacts/plots/a%20b.png"]);
  });
});
