import type { CliContext } from "./context.ts";
import { sendJson, startHttp } from "./http-fixture.test-support.ts";
import { runCli } from "./program.ts";

/** A request the fake server received: its method, URL and JSON body (null when it had none). */
export interface RecordedCall {
  method: string;
  url: string;
  body: unknown;
}

/**
 * Runs the CLI with `argv` against a throwaway server on loopback that records each request and
 * answers it with `answer(call)`; the exit code, what the CLI printed, and the requests in order.
 * @example const r = await cliAgainst(["deploy", "drift", "churn"], () => ({ status: 202, body: started }));
 */
export async function cliAgainst(
  argv: string[],
  answer: (call: RecordedCall) => { status: number; body: unknown },
): Promise<{ code: number; calls: RecordedCall[]; stdout: string; stderr: string }> {
  const calls: RecordedCall[] = [];
  const s = await startHttp((req, res) => {
    let text = "";
    req.on("data", (d) => (text += d));
    req.on("end", () => {
      const call = { method: req.method!, url: req.url!, body: text ? JSON.parse(text) : null };
      calls.push(call);
      const a = answer(call);
      sendJson(res, a.status, a.body);
    });
  });
  const out = { stdout: "", stderr: "" };
  const ctx: CliContext = {
    stdout: { write: (t: string) => (out.stdout += t) },
    stderr: { write: (t: string) => (out.stderr += t) },
    env: { CARETFLOW_URL: s.url, CARETFLOW_TOKEN: "t" },
    cwd: process.cwd(),
    userHome: "/nonexistent-home",
    fetch,
    onInterrupt: () => () => {},
    now: () => 0,
    exit: (code) => {
      throw new Error(`exit ${code}`);
    },
    loadServer: () => Promise.reject(new Error("not in this test")),
  };
  try {
    return { code: await runCli(argv, ctx), calls, ...out };
  } finally {
    await s.close();
  }
}
