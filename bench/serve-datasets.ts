/**
 * A caretflow HTTP server for the import benchmarks: the real app (routes, auth, upload, dataset store
 * on SQLite and DuckDB) on a free loopback port, without MLflow or the engine, which an import does
 * not use. Prints one JSON line {url, token, pid} on stdout, serves until SIGTERM/SIGINT, then removes
 * its folder. MAX_UPLOAD_BYTES sets the upload limit (default 64 GiB); CARETFLOW_DUCKDB_MEMORY_LIMIT
 * the store's DuckDB memory_limit. Every 100 ms it samples the memory DuckDB itself holds
 * (duckdb_memory()); SIGUSR2 prints {duckdbPeakBytes} as one JSON line and starts a new peak.
 */
import type { AddressInfo } from "node:net";
import type { DuckDBInstance } from "@duckdb/node-api";
import { serve } from "@hono/node-server";
import { UPLOAD_TIMEOUT_MS } from "../packages/server/src/start.ts";
import { appFixture } from "../packages/server/test/app.fixture.ts";

const f = await appFixture({ maxUploadBytes: Number(process.env.MAX_UPLOAD_BYTES ?? 64 * 1024 ** 3) }, { datasets: true });
// As the real server: an upload of several GB may take longer than Node's default 5 minutes to arrive.
const server = serve({ fetch: f.app.fetch, port: 0, hostname: "127.0.0.1", serverOptions: { requestTimeout: UPLOAD_TIMEOUT_MS } });
await new Promise<void>((ok) => (server.listening ? ok() : server.once("listening", () => ok())));
const admin = (await f.auth.userByName("admin"))!;
const token = (await f.auth.createToken(admin.id, "bench")).token;
process.stdout.write(`${JSON.stringify({ url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, token, pid: process.pid })}\n`);

// The store's DuckDB, reached only here, to read what it holds while an import runs.
const duck = (f.store as unknown as { duck: DuckDBInstance }).duck;
const probe = await duck.connect();
let duckPeak = 0;
let sampling = false;
const timer = setInterval(async () => {
  if (sampling) return;
  sampling = true;
  try {
    const rows = (await probe.runAndReadAll("SELECT sum(memory_usage_bytes) FROM duckdb_memory()")).getRowsJS();
    duckPeak = Math.max(duckPeak, Number(rows[0]?.[0] ?? 0));
  } finally {
    sampling = false;
  }
}, 100);
process.on("SIGUSR2", () => {
  process.stdout.write(`${JSON.stringify({ duckdbPeakBytes: duckPeak })}\n`);
  duckPeak = 0;
});

let closing = false;
async function close(): Promise<void> {
  if (closing) return;
  closing = true;
  clearInterval(timer);
  probe.closeSync();
  await new Promise<void>((ok) => server.close(() => ok()));
  await f.close();
  process.exit(0);
}
process.on("SIGTERM", close);
process.on("SIGINT", close);
