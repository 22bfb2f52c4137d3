import { type ApiTokenInfo, CreateTokenRequest, DEFAULT_TOKEN_DAYS } from "@caretflow/contracts";
import type { Command } from "commander";
import { action, type CommonOptions, type ExitState, parseFlags, withCommon } from "./common.ts";
import type { CliContext } from "./context.ts";
import { formatTable, formatTime } from "./table.ts";

/** "read on alpha", "write on all projects": a token's scope in a few words. */
export function scopeText(t: Pick<ApiTokenInfo, "access" | "project">): string {
  return `${t.access} on ${t.project === null ? "all your projects" : t.project}`;
}

/** `caretflow tokens create|list|revoke`: the signed-in user's API tokens. */
export function registerTokens(program: Command, ctx: CliContext, exit: ExitState): void {
  const tokens = program.command("tokens").description("your API tokens: scoped to a project or all of yours, read or write, expiring");

  withCommon(
    tokens
      .command("create <name>")
      .description(
        `create an API token and print it once; --project P limits it to project P (else all your projects); it expires in ${DEFAULT_TOKEN_DAYS} days unless --expires-in-days`,
      )
      .option("--read-only", "the token may only read (GET requests)")
      .option("--expires-in-days <n>", "days until the token expires (1 to 365)"),
  ).action(
    action<CommonOptions & { readOnly?: boolean; expiresInDays?: string }>(ctx, exit, async (env, opts, [name]) => {
      const body = parseFlags(
        CreateTokenRequest,
        {
          name,
          access: opts.readOnly ? "read" : "write",
          ...(opts.project !== undefined ? { project: opts.project } : {}),
          ...(opts.expiresInDays !== undefined ? { expiresInDays: Number(opts.expiresInDays) } : {}),
        },
        { name: "NAME", project: "--project", expiresInDays: "--expires-in-days", access: "--read-only" },
      );
      const created = await (await env.client()).POST("/api/auth/tokens", { body });
      env.out.result(
        created,
        () =>
          `created token ${created.name} (${created.id}): ${scopeText(created)}, expires ${formatTime(created.expiresAt)}\n` +
          `token (shown once, store it now): ${created.token}\n` +
          "use it as CARETFLOW_TOKEN, or send 'Authorization: Bearer <token>'",
      );
      return undefined;
    }),
  );

  withCommon(tokens.command("list").description("your API tokens (never their secrets)")).action(
    action<CommonOptions>(ctx, exit, async (env) => {
      const { tokens: list } = await (await env.client()).GET("/api/auth/tokens");
      env.out.result({ tokens: list }, () =>
        list.length === 0
          ? "you have no API tokens; create one with `caretflow tokens create NAME`"
          : formatTable(
              [
                { header: "ID" },
                { header: "NAME" },
                { header: "PROJECT" },
                { header: "ACCESS" },
                { header: "CREATED" },
                { header: "LAST USED" },
                { header: "EXPIRES" },
              ],
              list.map((t) => [
                t.id,
                t.name,
                t.project ?? "(all)",
                t.access,
                formatTime(t.createdAt),
                formatTime(t.lastUsedAt),
                t.expiresAt === null ? "never" : formatTime(t.expiresAt),
              ]),
            ),
      );
      return undefined;
    }),
  );

  withCommon(tokens.command("revoke <id>").description("revoke one of your API tokens at once (its ID from `tokens list`)")).action(
    action<CommonOptions>(ctx, exit, async (env, _opts, [id]) => {
      await (await env.client()).DELETE("/api/auth/tokens/{id}", { params: { path: { id: id! } } });
      env.out.result({ ok: true }, () => `revoked token ${id}`);
      return undefined;
    }),
  );
}
