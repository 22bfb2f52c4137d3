import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { freePort } from "./postgres.fixture.ts";

const REPO = resolve(import.meta.dirname, "../../..");

/** A real GCS JSON API: fake-gcs-server (built by scripts/fake-gcs.sh) on a free port, loaded with `objects`. */
export interface FakeGcsServer {
  endpoint: string;
  close(): Promise<void>;
}

/**
 * Start fake-gcs-server over a data folder holding `objects` ("bucket/key" -> content); fails with a
 * clear message (never skips) when it cannot be built or started.
 */
export async function startFakeGcs(objects: Record<string, string>): Promise<FakeGcsServer> {
  let bin: string;
  try {
    bin = execFileSync("bash", [join(REPO, "scripts/fake-gcs.sh")], { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] }).trim();
  } catch (error) {
    throw new Error(
      `fake-gcs-server could not be built (bash scripts/fake-gcs.sh failed: ${(error as { stderr?: string }).stderr?.slice(-500)}); the GCS connector tests need it`,
    );
  }
  const dir = await mkdtemp(join(tmpdir(), "caretflow-fake-gcs-"));
  const data = join(dir, "data");
  for (const [path, content] of Object.entries(objects)) {
    await mkdir(dirname(join(data, path)), { recursive: true });
    await writeFile(join(data, path), content);
  }
  const port = await freePort();
  const endpoint = `http://127.0.0.1:${port}`;
  const child: ChildProcess = spawn(
    bin,
    [
      "-scheme",
      "http",
      "-host",
      "127.0.0.1",
      "-port",
      String(port),
      "-backend",
      "memory",
      "-data",
      data,
      "-public-host",
      `127.0.0.1:${port}`,
      "-external-url",
      endpoint,
      "-log-level",
      "warn",
    ],
    { stdio: ["ignore", "pipe", "pipe"] },
  );
  let output = "";
  const keep = (d: Buffer) => {
    output = (output + d.toString()).slice(-2000);
  };
  child.stdout?.on("data", keep);
  child.stderr?.on("data", keep);
  const exited = new Promise<void>((r) => child.once("exit", () => r()));
  const deadline = Date.now() + 60_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`fake-gcs-server exited before answering (code ${child.exitCode}): ${output}`);
    try {
      if ((await fetch(`${endpoint}/storage/v1/b`)).ok) break;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) {
      child.kill("SIGKILL");
      throw new Error(`fake-gcs-server did not answer on ${endpoint} within 60 s: ${output}`);
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  return {
    endpoint,
    async close() {
      if (child.exitCode === null) {
        child.kill("SIGTERM");
        await Promise.race([exited, new Promise((r) => setTimeout(r, 5000))]);
        if (child.exitCode === null) child.kill("SIGKILL");
      }
      await rm(dir, { recursive: true, force: true });
    },
  };
}
