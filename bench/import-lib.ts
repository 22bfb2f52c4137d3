/** Shared pieces of the import benchmarks: a served caretflow, the CLI as a process, memory sampling. */
import { spawn } from "node:child_process";
import { createReadStream, readFileSync, writeFileSync } from "node:fs";
import { resolve } from "node:path";
import { createInterface } from "node:readline";
import { Readable } from "node:stream";
import type { ImportPhase } from "@caretflow/contracts";

export const root = resolve(import.meta.dirname, "..");

export interface Served {
  url: string;
  token: string;
  pid: number;
  /** DuckDB's own peak (duckdb_memory()) since the last call, bytes. */
  duckdbPeak(): Promise<number>;
  stop(): Promise<void>;
}

/** Start bench/serve-datasets.ts in its own process and wait for its address. */
export async function startServer(env: Record<string, string> = {}): Promise<Served> {
  const child = spawn(process.execPath, ["--import", "tsx", resolve(root, "bench/serve-datasets.ts")], {
    cwd: root,
    env: { ...process.env, ...env },
    stdio: ["ignore", "pipe", "inherit"],
  });
  const lines = createInterface({ input: child.stdout! });
  const waiting: ((line: string) => void)[] = [];
  lines.on("line", (line) => waiting.shift()?.(line));
  const nextLine = () =>
    new Promise<string>((ok, fail) => {
      waiting.push(ok);
      child.once("exit", (code) => fail(new Error(`the bench server exited (${code})`)));
    });
  const first = JSON.parse(await nextLine()) as { url: string; token: string; pid: number };
  return {
    ...first,
    async duckdbPeak() {
      const line = nextLine();
      child.kill("SIGUSR2");
      return (JSON.parse(await line) as { duckdbPeakBytes: number }).duckdbPeakBytes;
    },
    async stop() {
      if (child.exitCode !== null) return;
      const exited = new Promise((ok) => child.once("exit", ok));
      child.kill("SIGTERM");
      await exited;
    },
  };
}

/** A process's resident memory now and its peak so far (VmRSS, VmHWM), bytes; Linux only. */
export function memoryOf(pid: number): { rss: number; peak: number } {
  let status = "";
  try {
    status = readFileSync(`/proc/${pid}/status`, "utf8");
  } catch {
    // The process has ended.
  }
  const kb = (key: string) => Number(new RegExp(`^${key}:\\s+(\\d+) kB`, "m").exec(status)?.[1] ?? 0) * 1024;
  return { rss: kb("VmRSS"), peak: kb("VmHWM") };
}

/** Forget a process's peak resident memory so VmHWM measures from now (Linux: clear_refs 5). */
export function resetPeak(pid: number): void {
  try {
    writeFileSync(`/proc/${pid}/clear_refs`, "5");
  } catch {
    // Not permitted: the peak then includes what came before.
  }
}

/** Run a command; resolve with its stdout, wall seconds, and exit code (stderr passes through). */
export function run(
  cmd: string,
  args: string[],
  env: Record<string, string> = {},
): Promise<{ stdout: string; seconds: number; code: number }> {
  const start = performance.now();
  return new Promise((ok, fail) => {
    const p = spawn(cmd, args, { cwd: root, env: { ...process.env, ...env }, stdio: ["ignore", "pipe", "inherit"] });
    let stdout = "";
    p.stdout!.on("data", (d: Buffer) => (stdout += d.toString()));
    p.on("error", fail);
    p.on("exit", (code) => ok({ stdout, seconds: (performance.now() - start) / 1000, code: code ?? 1 }));
  });
}

/** `caretflow datasets import FILE --name NAME --json` against a served caretflow, as a person runs it. */
export async function cliImport(
  served: Served,
  file: string,
  name: string,
): Promise<{ seconds: number; phases: ImportPhase[]; rows: number }> {
  const r = await run(
    process.execPath,
    [resolve(root, "packages/cli/bin/caretflow.js"), "datasets", "import", file, "--name", name, "--json"],
    { CARETFLOW_URL: served.url, CARETFLOW_TOKEN: served.token },
  );
  if (r.code !== 0) throw new Error(`caretflow datasets import failed (${r.code}): ${r.stdout.slice(0, 2000)}`);
  const result = JSON.parse(r.stdout) as { version: { rowCount: number }; phases?: ImportPhase[] };
  return { seconds: r.seconds, phases: result.phases ?? [], rows: result.version.rowCount };
}

/**
 * POST a file to /api/datasets as a streamed multipart body (chunked, no length), as a browser or curl
 * would: for files of 4 GiB or more, which Node 20's openAsBlob (and so the CLI) cannot send.
 */
export async function streamUpload(
  served: Served,
  file: string,
  name: string,
): Promise<{ seconds: number; phases: ImportPhase[]; rows: number }> {
  const boundary = `----caretflow-bench-${Date.now()}`;
  const head = Buffer.from(
    `--${boundary}\r\nContent-Disposition: form-data; name="name"\r\n\r\n${name}\r\n--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="bench.csv"\r\nContent-Type: text/csv\r\n\r\n`,
  );
  const tail = Buffer.from(`\r\n--${boundary}--\r\n`);
  async function* body() {
    yield head;
    for await (const chunk of createReadStream(file, { highWaterMark: 1024 * 1024 })) yield chunk as Buffer;
    yield tail;
  }
  const start = performance.now();
  const res = await fetch(`${served.url}/api/datasets`, {
    method: "POST",
    headers: { authorization: `Bearer ${served.token}`, "content-type": `multipart/form-data; boundary=${boundary}` },
    body: Readable.toWeb(Readable.from(body())) as ReadableStream<Uint8Array>,
    duplex: "half",
  } as RequestInit);
  const text = await res.text();
  if (!res.ok) throw new Error(`upload failed (${res.status}): ${text.slice(0, 2000)}`);
  const result = JSON.parse(text) as { version: { rowCount: number }; phases?: ImportPhase[] };
  return { seconds: (performance.now() - start) / 1000, phases: result.phases ?? [], rows: result.version.rowCount };
}

/** "upload 1.2s, check 0.0s, ..." */
export function formatPhases(phases: readonly ImportPhase[]): string {
  return phases.map((p) => `${p.phase} ${(p.ms / 1000).toFixed(2)}s`).join(", ");
}

export function mib(bytes: number): string {
  return `${(bytes / 1024 / 1024).toFixed(0)} MiB`;
}
