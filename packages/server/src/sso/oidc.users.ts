import { CaretflowError, type User } from "@caretflow/contracts";
import type { Kysely } from "kysely";
import { type AuditLog, actorOf } from "../audit/audit.log.ts";
import type { AuthService } from "../auth/auth.service.ts";
import type { ServerTables } from "../db/server.tables.ts";
import type { Logger } from "../ports.ts";
import type { ProjectService } from "../projects/project.service.ts";
import { SsoRefusal } from "./oidc.client.ts";
import type { SsoConfig } from "./sso.settings.ts";

const MAX_NAME = 64;

/**
 * The username a new user signed in by single sign-on is given: the provider's preferred_username, else
 * the part of the email before '@', else "user"; characters a caretflow name cannot hold become '-'.
 * `taken` names are avoided by adding -2, -3, ... (pure: tested with tables).
 */
export function usernameFor(claims: { preferred_username?: unknown; email?: unknown }, taken: (name: string) => boolean): string {
  const raw =
    typeof claims.preferred_username === "string" && claims.preferred_username.trim() !== ""
      ? claims.preferred_username
      : typeof claims.email === "string"
        ? (claims.email.split("@")[0] ?? "")
        : "";
  const cleaned = raw
    .normalize("NFKD")
    .replace(/[\u0300-\u036f]/g, "")
    .replace(/[^A-Za-z0-9._-]+/g, "-")
    .replace(/^[^A-Za-z0-9]+/, "")
    .replace(/-+$/, "")
    .slice(0, MAX_NAME - 4);
  const base = cleaned === "" ? "user" : cleaned;
  if (!taken(base)) return base;
  for (let i = 2; ; i++) {
    const name = `${base}-${i}`;
    if (!taken(name)) return name;
  }
}

/** The identity a provider vouched for, with the claims used to name a new user. */
export interface VerifiedIdentity {
  issuer: string;
  subject: string;
  claims: { preferred_username?: unknown; email?: unknown };
}

/**
 * The caretflow user for a verified identity: the one linked to (issuer, sub); else, when auto-create is on,
 * a new user (added to the default project with the default role if one is set). Never linked by name.
 * Throws SsoRefusal for a disabled user or an unknown person when auto-create is off.
 */
export async function userForIdentity(
  deps: { db: Kysely<ServerTables>; auth: AuthService; projects: ProjectService; audit: AuditLog; log: Logger },
  identity: VerifiedIdentity,
  settings: Pick<SsoConfig, "autoCreate" | "defaultProject" | "defaultRole">,
  address: string,
): Promise<{ user: User; created: boolean }> {
  const { db } = deps;
  const linked = await db
    .selectFrom("oidc_identities")
    .innerJoin("users", "users.id", "oidc_identities.user_id")
    .select(["users.id", "users.username", "users.role", "users.disabled"])
    .where("oidc_identities.issuer", "=", identity.issuer)
    .where("oidc_identities.subject", "=", identity.subject)
    .executeTakeFirst();
  const now = new Date().toISOString();
  if (linked) {
    if (linked.disabled !== 0) throw new SsoRefusal("disabled", `user ${linked.username} is disabled`);
    await db
      .updateTable("oidc_identities")
      .set({ last_login_at: now })
      .where("issuer", "=", identity.issuer)
      .where("subject", "=", identity.subject)
      .execute();
    return { user: { id: linked.id, username: linked.username, role: linked.role === "admin" ? "admin" : "user" }, created: false };
  }
  if (!settings.autoCreate) throw new SsoRefusal("no_user", `no user is linked to this identity and auto-create is off`);

  const names = new Set((await db.selectFrom("users").select("username").execute()).map((r) => r.username.toLowerCase()));
  let created: { id: string; username: string } | null = null;
  for (let attempt = 0; attempt < 5 && created === null; attempt++) {
    const username = usernameFor(identity.claims, (n) => names.has(n.toLowerCase()));
    try {
      // The generated password is never shown: this user signs in through the provider (an admin may reset it).
      created = await deps.auth.createUser({ username });
    } catch (err) {
      if (!(err instanceof CaretflowError && err.code === "user_exists")) throw err;
      names.add(username.toLowerCase());
    }
  }
  if (!created) throw new Error("could not choose a free username");
  await db
    .insertInto("oidc_identities")
    .values({ issuer: identity.issuer, subject: identity.subject, user_id: created.id, created_at: now, last_login_at: now })
    .execute();
  const user: User = { id: created.id, username: created.username, role: "user" };
  await deps.audit.record({
    actor: actorOf(user),
    action: "user.create",
    target: { kind: "user", id: user.username },
    project: null,
    address,
    after: { role: "user", via: "oidc", issuer: identity.issuer },
  });
  if (settings.defaultProject) {
    try {
      await deps.projects.setMember(settings.defaultProject, user.username, settings.defaultRole);
      await deps.audit.record({
        actor: actorOf(user),
        action: "project.member.set",
        target: { kind: "user", id: user.username },
        project: settings.defaultProject,
        address,
        after: { role: settings.defaultRole, via: "oidc default project" },
      });
    } catch (err) {
      deps.log("warn", `single sign-on: could not add ${user.username} to project ${settings.defaultProject}: ${(err as Error).message}`);
    }
  }
  return { user, created: true };
}
