import { AuditQuery, userError } from "@caretflow/contracts";
import { type Command, InvalidArgumentError } from "commander";
import { action, type CommonOptions, EXIT, type ExitState, intArg, parseFlags, withCommon } from "./common.ts";
import type { CliContext } from "./context.ts";
import { checkOutFile, writeBody } from "./download.ts";
import { formatBytes, formatTable, formatTime } from "./table.ts";

interface FilterFlags {
  action?: string;
  actor?: string;
  ofProject?: string;
  target?: string;
  since?: string;
  until?: string;
  search?: string;
}

const UNITS: Record<string, number> = { m: 60_000, h: 3_600_000, d: 86_400_000 };

/**
 * A time flag: ISO 8601 as it is, or a span back from now ("30m", "24h", "7d").
 * @example timeArg("--since", () => Date.parse("2026-01-02T00:00:00Z"))("1d") // "2026-01-01T00:00:00.000Z"
 */
export function timeArg(name: string, now: () => number): (value: string) => string {
  return (value) => {
    const span = /^(\d+)([mhd])$/.exec(value.trim());
    if (span) return new Date(now() - Number(span[1]) * UNITS[span[2]!]!).toISOString();
    const t = Date.parse(value);
    if (Number.isNaN(t) || !/^\d{4}-\d{2}-\d{2}/.test(value.trim())) {
      throw new InvalidArgumentError(
        `${name} must be an ISO time (2026-12-01 or 2026-12-01T10:00:00Z) or a span like 24h or 7d, got '${value}'.`,
      );
    }
    return new Date(t).toISOString();
  };
}

function withFilters(cmd: Command, now: () => number): Command {
  return cmd
    .option("--action <action>", "an action, e.g. job.create, or a prefix ending in * (job.*)")
    .option("--actor <user>", "a username or user id; `system` for the server's own changes")
    .option("--of-project <project>", "entries of this project (--project names the project a command works in)")
    .option("--target <target>", "a target id, or KIND:ID (dataset:juice/1, job:job_..., model:churn@champion)")
    .option("--since <time>", "entries at or after this time (ISO 8601, or a span back from now: 30m, 24h, 7d)", timeArg("--since", now))
    .option("--until <time>", "entries before this time (ISO 8601 or a span back from now)", timeArg("--until", now))
    .option("--search <text>", "text found in the action, actor, target, address or snapshots");
}

function filterQuery(opts: FilterFlags): Record<string, string | undefined> {
  return {
    action: opts.action,
    actor: opts.actor,
    project: opts.ofProject,
    target: opts.target,
    since: opts.since,
    until: opts.until,
    q: opts.search,
  };
}

export function registerAudit(program: Command, ctx: CliContext, exit: ExitState): void {
  const audit = program.command("audit").description("the tamper-evident audit log of every change (site admins)");
  const now = () => ctx.now();

  withCommon(
    withFilters(audit.command("list").description("audit entries, newest first"), now)
      .option("--limit <n>", "entries to show (1-1000, default 50)", intArg("--limit", 1, 1000), 50)
      .option("--before <seq>", "only entries older than this seq (the next page)", intArg("--before", 1)),
  ).action(
    action<CommonOptions & FilterFlags & { limit: number; before?: number }>(ctx, exit, async (env, opts) => {
      const query = parseFlags(
        AuditQuery,
        { ...filterQuery(opts), limit: opts.limit, before: opts.before },
        { action: "--action", actor: "--actor", project: "--of-project", target: "--target", q: "--search", limit: "--limit" },
      );
      const client = await env.client();
      const page = await client.GET("/api/audit", { params: { query } });
      env.out.result(page, () => {
        if (page.entries.length === 0) return "no audit entries match";
        const table = formatTable(
          [
            { header: "SEQ", right: true },
            { header: "TIME" },
            { header: "ACTOR" },
            { header: "ACTION" },
            { header: "TARGET" },
            { header: "PROJECT" },
            { header: "ADDRESS" },
          ],
          page.entries.map((e) => [
            String(e.seq),
            formatTime(e.at),
            e.actor.name,
            e.action,
            `${e.target.kind}:${e.target.id}`,
            e.project ?? "-",
            e.address ?? "-",
          ]),
        );
        return page.nextBefore === null ? table : `${table}\nmore: caretflow audit list --before ${page.nextBefore}`;
      });
      return undefined;
    }),
  );

  withCommon(audit.command("verify").description("check the hash chain; exit 1 naming the first broken row")).action(
    action<CommonOptions>(ctx, exit, async (env) => {
      const client = await env.client();
      const r = await client.GET("/api/audit/verify");
      env.out.result(r, () =>
        r.ok
          ? `audit log intact: ${r.rows} entries${r.head ? `, head ${r.head.seq} ${r.head.hash.slice(0, 12)}` : ""}`
          : `audit log BROKEN at seq ${r.seq} (${r.reason}): ${r.message}\n${r.rows} entries before it check out`,
      );
      return r.ok ? EXIT.ok : EXIT.error;
    }),
  );

  withCommon(
    withFilters(audit.command("export").description("every matching entry, oldest first, as NDJSON or CSV"), now)
      .option("--format <format>", "ndjson or csv", "ndjson")
      .option("--out <file>", "write to this file instead of stdout"),
  ).action(
    action<CommonOptions & FilterFlags & { format: string; out?: string }>(ctx, exit, async (env, opts) => {
      if (opts.format !== "ndjson" && opts.format !== "csv") {
        throw userError("invalid_arguments", `--format must be ndjson or csv, got '${opts.format}'`, "see `caretflow audit export --help`");
      }
      if (env.out.json && !opts.out) {
        throw userError("invalid_arguments", "--json needs --out: without it the export itself is printed on stdout", "add --out FILE");
      }
      const file = opts.out ? await checkOutFile(env.ctx.cwd, opts.out) : null;
      const client = await env.client();
      const res = await client.raw("get", "/api/audit/export", { params: { query: { ...filterQuery(opts), format: opts.format } } });
      if (file) {
        const bytes = await writeBody(res, file);
        env.out.result({ file, bytes, format: opts.format }, () => `wrote ${file} (${formatBytes(bytes)}, ${opts.format})`);
      } else {
        env.ctx.stdout.write(await res.text());
      }
      return undefined;
    }),
  );
}
