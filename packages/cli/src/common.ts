import { CaretflowError, StorageUrl, userError } from "@caretflow/contracts";
import { type Command, InvalidArgumentError } from "commander";
import { type ApiClient, createClient } from "./client.ts";
import { resolveConnection } from "./connection.ts";
import { type CliContext, resolveHome } from "./context.ts";
import { createOutput, errorDocument, formatError, type Output } from "./output.ts";

/** Options every command takes. */
export interface CommonOptions {
  json?: boolean;
  home?: string;
  project?: string;
}

/** What an action gets: the world, its output, and a lazily made API client. */
export interface CommandEnv {
  ctx: CliContext;
  out: Output;
  home: string;
  client(): Promise<ApiClient>;
}

/** Exit codes shared by every command. */
export const EXIT = { ok: 0, error: 1, cancelled: 2, interrupted: 130 } as const;

/** Collects the exit code of whichever action commander ran. */
export interface ExitState {
  code: number;
}

export function withCommon(cmd: Command): Command {
  return cmd
    .option("--json", "print exactly one JSON document on stdout (progress still goes to stderr)")
    .option("--home <dir>", "caretflow home folder holding cli.json (default: $CARETFLOW_HOME or ~/.caretflow)")
    .option("--project <name>", "the project to work in (default: $CARETFLOW_PROJECT, else the project named default)");
}

/**
 * Wrap a command body: builds its env, turns its return value into the exit code, and prints
 * errors as "error: ...\nhint: ..." (plus the error as the one JSON document with --json).
 */
export function action<O extends CommonOptions>(
  ctx: CliContext,
  exit: ExitState,
  body: (env: CommandEnv, opts: O, args: string[]) => Promise<number | undefined>,
): (...raw: unknown[]) => Promise<void> {
  return async (...raw: unknown[]) => {
    const command = raw[raw.length - 1] as Command;
    const opts = command.opts<O>();
    const args = raw.slice(0, -2) as string[];
    const out = createOutput(ctx, opts.json === true);
    try {
      const home = resolveHome(ctx, opts.home);
      let client: ApiClient | undefined;
      const env: CommandEnv = {
        ctx,
        out,
        home,
        async client() {
          client ??= createClient(await resolveConnection(ctx.env, home), ctx.fetch, opts.project ?? nonEmpty(ctx.env.CARETFLOW_PROJECT));
          return client;
        },
      };
      exit.code = (await body(env, opts, args)) ?? EXIT.ok;
    } catch (err) {
      reportError(ctx, out, err);
      exit.code = EXIT.error;
    }
  };
}

function nonEmpty(v: string | undefined): string | undefined {
  return v === undefined || v.trim() === "" ? undefined : v.trim();
}

export function reportError(ctx: CliContext, out: Output, err: unknown): void {
  if (out.json) ctx.stdout.write(`${JSON.stringify(errorDocument(err), null, 2)}\n`);
  ctx.stderr.write(formatError(err));
}

// ---------------------------------------------------------------- option parsers (commander)

export function intArg(name: string, min = 0, max = Number.MAX_SAFE_INTEGER): (value: string) => number {
  return (value) => {
    if (!/^-?\d+$/.test(value.trim())) throw new InvalidArgumentError(`${name} must be a whole number, got '${value}'.`);
    const n = Number(value);
    if (n < min || n > max) throw new InvalidArgumentError(`${name} must be between ${min} and ${max}, got ${n}.`);
    return n;
  };
}

/** --redis: a redis:// or rediss:// URL with a host. */
export function redisUrlArg(value: string): string {
  let url: URL | null = null;
  try {
    url = new URL(value);
  } catch {}
  if (!url || !["redis:", "rediss:"].includes(url.protocol) || !url.hostname) {
    throw new InvalidArgumentError("--redis must be a redis:// or rediss:// URL with a host, e.g. redis://127.0.0.1:6379.");
  }
  return value;
}

/**
 * --database: a postgres:// or postgresql:// URL with a host and database, or a SQLite file path.
 * Checked in the action rather than by commander, whose refusal would repeat the value and its password.
 */
export function checkedDatabase(value: string | undefined): string | undefined {
  if (value === undefined) return undefined;
  const v = value.trim();
  const scheme = /^([a-z][a-z0-9+.-]*):\/\//i.exec(v)?.[1]?.toLowerCase();
  const hint = "Give a PostgreSQL URL (postgres://user:password@host:5432/database) or the path of a SQLite file.";
  if (scheme === "postgres" || scheme === "postgresql") {
    let url: URL | null = null;
    try {
      url = new URL(v);
    } catch {}
    if (url?.hostname && url.pathname.length > 1) return v;
    throw userError("invalid_database", "--database: the PostgreSQL URL needs a host and a database name", hint);
  }
  if (scheme !== undefined || v === "") {
    throw userError("invalid_database", "--database is neither a PostgreSQL URL nor a SQLite file path", hint);
  }
  return v;
}

/**
 * --storage: s3://bucket[/prefix] (see @caretflow/contracts StorageUrl). Checked in the action rather than by
 * commander, whose refusal would repeat the value (and any credential typed into it).
 */
export function checkedStorage(value: string | undefined): string | undefined {
  if (value === undefined) return undefined;
  const parsed = StorageUrl.safeParse(value);
  if (parsed.success) return parsed.data.url;
  throw userError(
    "invalid_storage",
    `--storage: ${parsed.error.issues[0]?.message}`,
    "Give the bucket and an optional prefix, e.g. --storage s3://caretflow-data/team-a; an S3-compatible store's endpoint is CARETFLOW_S3_ENDPOINT_URL, credentials AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY.",
  );
}

export function floatArg(name: string): (value: string) => number {
  return (value) => {
    const n = Number(value);
    if (value.trim() === "" || !Number.isFinite(n)) throw new InvalidArgumentError(`${name} must be a number, got '${value}'.`);
    return n;
  };
}

/** "a,b, c" -> ["a","b","c"]; repeated flags accumulate. */
export function listArg(value: string, previous: string[] | undefined): string[] {
  const items = value
    .split(",")
    .map((s) => s.trim())
    .filter((s) => s !== "");
  return [...(previous ?? []), ...items];
}

/** Parse flags into a contracts schema; a failure names the flag and says what is allowed. */
export function parseFlags<T>(
  schema: {
    safeParse(v: unknown): { success: true; data: T } | { success: false; error: { issues: { path: PropertyKey[]; message: string }[] } };
  },
  value: unknown,
  flagOf: Record<string, string>,
): T {
  const r = schema.safeParse(value);
  if (r.success) return r.data;
  const lines = r.error.issues.map((i) => {
    const key = String(i.path[0] ?? "");
    return `${flagOf[key] ?? (key || "input")}: ${i.message}`;
  });
  throw userError("invalid_arguments", lines.join("; "), "see `--help` for the allowed values");
}

export function isCaretflowError(err: unknown, code?: string): err is CaretflowError {
  return err instanceof CaretflowError && (code === undefined || err.code === code);
}
