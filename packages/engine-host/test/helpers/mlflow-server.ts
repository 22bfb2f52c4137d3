import { spawn } from "node:child_process";
import { closeSync, openSync } from "node:fs";
import { createServer } from "node:net";
import { join } from "node:path";

/** A throwaway MLflow server on a free loopback port, for integration tests. */
export async function startMlflow(mlflowBin: string, dir: string): Promise<{ url: string; stop: () => Promise<void> }> {
  const port = await new Promise<number>((ok, fail) => {
    const s = createServer();
    s.on("error", fail);
    s.listen(0, "127.0.0.1", () => {
      const a = s.address();
      s.close(() => (typeof a === "object" && a ? ok(a.port) : fail(new Error("no port"))));
    });
  });
  const log = openSync(join(dir, "mlflow.log"), "a");
  const child = spawn(
    mlflowBin,
    [
      "server",
      "--host",
      "127.0.0.1",
      "--port",
      String(port),
      "--workers",
      "1",
      "--backend-store-uri",
      `sqlite:///${join(dir, "mlflow.db")}`,
      "--artifacts-destination",
      join(dir, "artifacts"),
    ],
    { detached: true, stdio: ["ignore", log, log], env: { ...process.env, MLFLOW_SERVER_ENABLE_JOB_EXECUTION: "false" } },
  );
  closeSync(log);
  const pgid = child.pid!;
  const stop = async () => {
    try {
      process.kill(-pgid, "SIGTERM");
    } catch {
      return;
    }
    for (let i = 0; i < 100; i++) {
      try {
        process.kill(-pgid, 0);
      } catch {
        return;
      }
      await new Promise((r) => setTimeout(r, 100));
    }
    try {
      process.kill(-pgid, "SIGKILL");
    } catch {
      // gone
    }
  };
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 240_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) break;
    try {
      if ((await fetch(`${url}/health`)).ok) return { url, stop };
    } catch {
      // not up yet
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  await stop();
  throw new Error(`MLflow did not start; see ${join(dir, "mlflow.log")}`);
}
