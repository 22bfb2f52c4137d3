import { homedir } from "node:os";
import { join, resolve } from "node:path";
import type { StartCaretflow, StartWorker } from "./up.command.ts";

/** A place to write text: process.stdout/stderr in the real CLI, a buffer in tests. */
export interface Writer {
  write(text: string): unknown;
  /** True when it is an interactive terminal (enables in-place progress lines). */
  isTTY?: boolean;
}

/** Everything a command touches outside itself, passed explicitly so tests can build their own. */
export interface CliContext {
  stdout: Writer;
  stderr: Writer;
  env: Record<string, string | undefined>;
  cwd: string;
  /** The user's home directory, for the default ~/.caretflow. */
  userHome: string;
  fetch: typeof fetch;
  /** Registers a Ctrl-C/SIGTERM handler; returns a function that removes it. */
  onInterrupt(handler: (signal: "SIGINT" | "SIGTERM") => void): () => void;
  now(): number;
  /** Leave at once (a second Ctrl-C while stopping). */
  exit(code: number): never;
  /** Loads the server for `caretflow up`. */
  loadServer(): Promise<StartCaretflow>;
  /** Loads the worker for `caretflow worker`. */
  loadWorker?(): Promise<StartWorker>;
  /** All of standard input (secrets are read from here or the environment, never from arguments). */
  readStdin?(): Promise<string>;
}

/** The real world: process streams, env and signals. */
export function processContext(): CliContext {
  return {
    stdout: process.stdout,
    stderr: process.stderr,
    env: process.env,
    cwd: process.cwd(),
    userHome: homedir(),
    fetch: globalThis.fetch,
    onInterrupt(handler) {
      const onInt = () => handler("SIGINT");
      const onTerm = () => handler("SIGTERM");
      process.on("SIGINT", onInt);
      process.on("SIGTERM", onTerm);
      return () => {
        process.off("SIGINT", onInt);
        process.off("SIGTERM", onTerm);
      };
    },
    now: () => Date.now(),
    exit: (code) => process.exit(code),
    loadServer: async () => (await import("@caretflow/server")).startCaretflow,
    loadWorker: async () => (await import("@caretflow/server")).startWorker,
    readStdin: async () => {
      const chunks: Buffer[] = [];
      for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
      return Buffer.concat(chunks).toString("utf8");
    },
  };
}

/** caretflow's home folder: --home, else CARETFLOW_HOME, else ~/.caretflow. */
export function resolveHome(ctx: Pick<CliContext, "env" | "cwd" | "userHome">, flag: string | undefined): string {
  const raw = flag ?? ctx.env.CARETFLOW_HOME ?? join(ctx.userHome, ".caretflow");
  const expanded = raw === "~" ? ctx.userHome : raw.startsWith("~/") ? join(ctx.userHome, raw.slice(2)) : raw;
  return resolve(ctx.cwd, expanded);
}
