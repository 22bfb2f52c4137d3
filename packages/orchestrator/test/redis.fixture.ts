import { type ChildProcess, spawn } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { freePort } from "@caretflow/tracking";
import { Redis } from "ioredis";

export interface RedisServer {
  url: string;
  /** Stop the server and remove its folder. */
  close(): Promise<void>;
}

/**
 * A real Redis server (Debian's redis-server) on a free loopback port, in a temporary folder, without
 * persistence; or CARETFLOW_TEST_REDIS_URL when set (an existing server, left running).
 */
export async function startRedis(): Promise<RedisServer> {
  const existing = process.env.CARETFLOW_TEST_REDIS_URL;
  if (existing) return { url: existing, close: async () => {} };
  const dir = await mkdtemp(join(tmpdir(), "caretflow-redis-"));
  const port = await freePort();
  let child: ChildProcess;
  try {
    child = spawn(
      "redis-server",
      ["--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", dir, "--protected-mode", "yes"],
      { stdio: ["ignore", "ignore", "pipe"] },
    );
  } catch (error) {
    await rm(dir, { recursive: true, force: true });
    throw error;
  }
  const spawned = new Promise<void>((resolve, reject) => {
    child.once("spawn", resolve);
    child.once("error", (e) => reject(new Error(`could not start redis-server (apt-get install redis-server): ${e.message}`)));
  });
  await spawned;
  const url = `redis://127.0.0.1:${port}`;
  const deadline = Date.now() + 10_000;
  for (;;) {
    const probe = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
    probe.on("error", () => {}); // refused until the server listens: the loop retries
    try {
      await probe.connect();
      await probe.ping();
      probe.disconnect();
      break;
    } catch {
      probe.disconnect();
      if (Date.now() > deadline || child.exitCode !== null) throw new Error(`redis-server did not start on port ${port}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }
  return {
    url,
    close: async () => {
      if (child.exitCode === null) {
        const exited = new Promise((r) => child.once("exit", r));
        child.kill("SIGTERM");
        await exited;
      }
      await rm(dir, { recursive: true, force: true });
    },
  };
}
