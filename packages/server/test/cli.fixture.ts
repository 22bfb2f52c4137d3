import type { AddressInfo } from "node:net";
import { serve } from "@hono/node-server";
import type { CliContext } from "../../cli/src/context.ts";
import { runCli } from "../../cli/src/program.ts";
import { appFixture } from "./app.fixture.ts";

/**
 * The real HTTP app (appFixture, with datasets) on a free loopback port, an admin API token, and a
 * `cli(argv)` that runs the real `caretflow` command against it with its output captured.
 */
export async function servedCli(opts: Parameters<typeof appFixture>[1] = {}) {
  const f = await appFixture({}, { datasets: true, ...opts });
  const server = serve({ fetch: f.app.fetch, port: 0, hostname: "127.0.0.1" });
  await new Promise<void>((ok) => (server.listening ? ok() : server.once("listening", () => ok())));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const admin = (await f.auth.userByName("admin"))!;
  const adminToken = (await f.auth.createToken(admin.id, "cli")).token;

  /** Runs the CLI as the admin unless `env` sets another CARETFLOW_TOKEN; `stdin` is what it reads from standard input. */
  const cli = (argv: string[], env: Record<string, string> = {}, stdin = "") =>
    runCliAt(argv, { CARETFLOW_URL: url, CARETFLOW_TOKEN: adminToken, ...env }, stdin);

  return {
    f,
    admin,
    /** Where the server listens and the admin's token, for a CLI run as a process of its own. */
    url,
    adminToken,
    cli,
    async close() {
      await new Promise<void>((ok) => server.close(() => ok()));
      await f.close();
    },
  };
}

/** Runs the real `caretflow` command in process with this environment (CARETFLOW_URL, CARETFLOW_TOKEN...), its output captured. */
export async function runCliAt(argv: string[], env: Record<string, string>, stdin = "") {
  const out = { stdout: "", stderr: "" };
  const ctx: CliContext = {
    stdout: { write: (s: string) => (out.stdout += s) },
    stderr: { write: (s: string) => (out.stderr += s) },
    env,
    cwd: process.cwd(),
    userHome: "/nonexistent-home",
    fetch,
    onInterrupt: () => () => {},
    now: () => Date.now(),
    exit: (code) => {
      throw new Error(`exit ${code}`);
    },
    loadServer: () => Promise.reject(new Error("not in this test")),
    readStdin: async () => stdin,
  };
  const code = await runCli(argv, ctx);
  return { code, ...out };
}
