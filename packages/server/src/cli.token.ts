import type { AuditLog } from "./audit/audit.log.ts";
import { SYSTEM_ACTOR } from "./audit/audit.log.ts";
import type { AuthService } from "./auth/auth.service.ts";
import { readCliFile } from "./cli.file.ts";

export const CLI_TOKEN_NAME = "caretflow CLI";
/** The CLI's token in cli.json is replaced at start once fewer than this many days are left. */
export const CLI_TOKEN_RENEW_DAYS = 30;

/**
 * The local CLI's token for cli.json: the admin's, write access on all projects, expiring like any
 * token. The one already in cli.json is reused while it is such a token with more than
 * CLI_TOKEN_RENEW_DAYS days left; otherwise a new one is made and the old CLI token deleted.
 */
export async function cliToken(auth: AuthService, audit: AuditLog, home: string, now: Date = new Date()): Promise<string> {
  const existing = await readCliFile(home);
  if (existing?.token) {
    const r = await auth.resolveToken(existing.token);
    const renewAfter = new Date(now.getTime() + CLI_TOKEN_RENEW_DAYS * 24 * 3600 * 1000).toISOString();
    const usable = r && !r.expired && r.scope.project === null && r.scope.access === "write" && r.user.username === "admin";
    if (usable && r.scope.expiresAt !== null && r.scope.expiresAt > renewAfter) return existing.token;
    // Only the CLI's own token is removed; a token someone else put into cli.json is left alone.
    const usableByAdmin = r !== null && (r.expired || r.user.username === "admin");
    if (usableByAdmin && (r.expired ? r.name : r.scope.name) === CLI_TOKEN_NAME) await auth.deleteTokenBySecret(existing.token);
  }
  const admin = await auth.userByName("admin");
  if (!admin) throw new Error("the admin user is missing from the metadata database");
  const created = await auth.createToken(admin.id, CLI_TOKEN_NAME, { access: "write" });
  await audit.record({
    actor: SYSTEM_ACTOR,
    action: "token.create",
    target: { kind: "token", id: created.id },
    after: { name: created.name, user: "admin", access: created.access, expiresAt: created.expiresAt, written: "cli.json" },
  });
  return created.token;
}
