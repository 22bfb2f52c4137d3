import { randomUUID } from "node:crypto";
import {
  type ApiTokenInfo,
  CaretflowError,
  type CreatedToken,
  type CreatedUser,
  DEFAULT_TOKEN_DAYS,
  notFound,
  type TokenAccess,
  type User,
  type UserInfo,
  userError,
} from "@caretflow/contracts";
import type { Kysely } from "kysely";
import type { ServerTables } from "../db/server.tables.ts";
import { generatePassword, generateSecret, hashPassword, sha256Hex, verifyPassword } from "./password.ts";

export const SESSION_COOKIE = "caretflow_session";
export const TOKEN_PREFIX = "cf_";

const DAY_MS = 24 * 3600 * 1000;

/** What a token may do: one project or all of its user's (null), and read or write. */
export interface TokenScope {
  id: string;
  name: string;
  project: string | null;
  access: TokenAccess;
  expiresAt: string | null;
}

export type TokenResolution = { expired: false; user: User; scope: TokenScope } | { expired: true; name: string; expiresAt: string };

export interface TokenOptions {
  project?: string | undefined;
  access?: TokenAccess | undefined;
  expiresInDays?: number | undefined;
}

export interface AuthServiceOptions {
  db: Kysely<ServerTables>;
  sessionTtlMs?: number;
  now?: () => Date;
  /** A token's last_used_at is written at most this often (default 1 min): not one write per request. */
  lastUsedEveryMs?: number;
}

/** Users, sessions and API tokens. Secrets are stored only as hashes. */
export class AuthService {
  readonly #db: Kysely<ServerTables>;
  readonly #ttl: number;
  readonly #now: () => Date;
  readonly #lastUsedEvery: number;
  /** When this process last wrote each token's last_used_at (ms); a few bytes per token in use. */
  readonly #lastUsedWritten = new Map<string, number>();
  // A wrong password costs as much as a right one, so timing does not reveal which usernames exist.
  #dummyHash: Promise<string> | null = null;

  constructor(opts: AuthServiceOptions) {
    this.#db = opts.db;
    this.#ttl = opts.sessionTtlMs ?? 7 * 24 * 3600 * 1000;
    this.#now = opts.now ?? (() => new Date());
    this.#lastUsedEvery = opts.lastUsedEveryMs ?? 60_000;
  }

  /** Creates the `admin` user on first start; returns its generated password then, null afterwards. */
  async ensureAdmin(): Promise<string | null> {
    const existing = await this.#db.selectFrom("users").select("id").where("username", "=", "admin").executeTakeFirst();
    if (existing) return null;
    const password = generatePassword();
    // Two servers starting together on one PostgreSQL database: the first makes the admin, the other keeps it.
    const r = await this.#db
      .insertInto("users")
      .values({ id: randomUUID(), username: "admin", password_hash: await hashPassword(password), role: "admin", created_at: this.#iso() })
      .onConflict((oc) => oc.column("username").doNothing())
      .executeTakeFirst();
    return Number(r.numInsertedOrUpdatedRows ?? 0) > 0 ? password : null;
  }

  /** Replaces a user's password (operations: a forgotten admin password). */
  async setPassword(username: string, password: string): Promise<void> {
    const r = await this.#db
      .updateTable("users")
      .set({ password_hash: await hashPassword(password) })
      .where("username", "=", username)
      .executeTakeFirst();
    if (Number(r.numUpdatedRows) === 0) throw new Error(`no user ${username}`);
    const u = await this.#db.selectFrom("users").select("id").where("username", "=", username).executeTakeFirstOrThrow();
    await this.#db.deleteFrom("sessions").where("user_id", "=", u.id).execute();
  }

  async listUsers(): Promise<UserInfo[]> {
    const rows = await this.#db.selectFrom("users").selectAll().orderBy("username").execute();
    // Users linked to a single sign-on identity are marked, so an admin can tell them apart.
    const linked = new Set((await this.#db.selectFrom("oidc_identities").select("user_id").execute()).map((r) => r.user_id));
    return rows.map((r) => ({ ...toUserInfo(r), ...(linked.has(r.id) ? { sso: true } : {}) }));
  }

  /** A new local user; the password is generated (and returned once) unless given. */
  async createUser(opts: { username: string; password?: string | undefined; admin?: boolean }): Promise<CreatedUser> {
    const taken = await this.#db.selectFrom("users").select("id").where("username", "=", opts.username).executeTakeFirst();
    if (taken) throw userError("user_exists", `A user named '${opts.username}' already exists`, "Choose another username.", 409);
    const password = opts.password ?? generatePassword();
    const row = {
      id: randomUUID(),
      username: opts.username,
      password_hash: await hashPassword(password),
      role: opts.admin ? "admin" : "user",
      created_at: this.#iso(),
    };
    await this.#db.insertInto("users").values(row).execute();
    return { ...toUserInfo({ ...row, disabled: 0 }), ...(opts.password ? {} : { password }) };
  }

  /** Disables or enables an account; disabling ends its sessions at once (its tokens stop working too). */
  async setDisabled(username: string, disabled: boolean, by: User): Promise<UserInfo> {
    const row = await this.#requireUser(username);
    if (disabled && row.id === by.id) {
      throw userError("disable_self", "You cannot disable your own account", "Ask another site admin to do it.", 409);
    }
    await this.#db
      .updateTable("users")
      .set({ disabled: disabled ? 1 : 0 })
      .where("id", "=", row.id)
      .execute();
    if (disabled) await this.#db.deleteFrom("sessions").where("user_id", "=", row.id).execute();
    return toUserInfo({ ...row, disabled: disabled ? 1 : 0 });
  }

  /** An admin's reset: a new generated password, shown once; the user is signed out everywhere. */
  async resetPassword(username: string): Promise<CreatedUser> {
    const row = await this.#requireUser(username);
    const password = generatePassword();
    await this.setPassword(username, password);
    return { ...toUserInfo(row), password };
  }

  /** A user's own change: the current password must be right; their other sessions end. */
  async changePassword(user: User, current: string, next: string, keepSession: string | null): Promise<void> {
    const row = await this.#requireUser(user.username);
    if (!(await verifyPassword(current, row.password_hash))) {
      throw userError("wrong_password", "The current password is wrong", "Type the password you signed in with.", 403);
    }
    await this.#db
      .updateTable("users")
      .set({ password_hash: await hashPassword(next) })
      .where("id", "=", row.id)
      .execute();
    let others = this.#db.deleteFrom("sessions").where("user_id", "=", row.id);
    if (keepSession) others = others.where("id_hash", "!=", sha256Hex(keepSession));
    await others.execute();
  }

  async #requireUser(username: string) {
    const row = await this.#db.selectFrom("users").selectAll().where("username", "=", username).executeTakeFirst();
    if (!row) throw notFound("user", username, "List users with `caretflow users list`.");
    return row;
  }

  /** Checks credentials; null when they are wrong (the caller answers with one generic message). */
  async verifyLogin(username: string, password: string): Promise<User | null> {
    const row = await this.#db.selectFrom("users").selectAll().where("username", "=", username).executeTakeFirst();
    if (!row) {
      this.#dummyHash ??= hashPassword(generatePassword());
      await verifyPassword(password, await this.#dummyHash);
      return null;
    }
    const ok = await verifyPassword(password, row.password_hash);
    return ok && row.disabled === 0 ? toUser(row) : null;
  }

  /** A new session; returns the cookie value (shown to the browser only). */
  async createSession(userId: string): Promise<{ cookie: string; expiresAt: Date }> {
    const cookie = generateSecret();
    const now = this.#now();
    const expiresAt = new Date(now.getTime() + this.#ttl);
    await this.#db
      .insertInto("sessions")
      .values({ id_hash: sha256Hex(cookie), user_id: userId, created_at: now.toISOString(), expires_at: expiresAt.toISOString() })
      .execute();
    // Old sessions are removed as new ones are made, so the table does not grow without bound.
    await this.#db.deleteFrom("sessions").where("expires_at", "<", now.toISOString()).execute();
    return { cookie, expiresAt };
  }

  async userForSession(cookie: string): Promise<User | null> {
    const row = await this.#db
      .selectFrom("sessions")
      .innerJoin("users", "users.id", "sessions.user_id")
      .select(["users.id", "users.username", "users.role", "sessions.expires_at"])
      .where("sessions.id_hash", "=", sha256Hex(cookie))
      .where("users.disabled", "=", 0)
      .executeTakeFirst();
    if (!row || row.expires_at < this.#iso()) return null;
    return toUser(row);
  }

  async deleteSession(cookie: string): Promise<void> {
    await this.#db.deleteFrom("sessions").where("id_hash", "=", sha256Hex(cookie)).execute();
  }

  /**
   * A new API token; the secret is returned once and stored only as its hash. Without options it
   * may write on all of the user's projects and expires in DEFAULT_TOKEN_DAYS days.
   */
  async createToken(userId: string, name: string, opts: TokenOptions = {}): Promise<CreatedToken> {
    const token = generateSecret(TOKEN_PREFIX);
    const now = this.#now();
    const days = opts.expiresInDays ?? DEFAULT_TOKEN_DAYS;
    const row = {
      id: randomUUID(),
      user_id: userId,
      name,
      token_hash: sha256Hex(token),
      created_at: now.toISOString(),
      last_used_at: null,
      project: opts.project ?? null,
      access: opts.access ?? "write",
      expires_at: new Date(now.getTime() + days * DAY_MS).toISOString(),
    };
    await this.#db.insertInto("api_tokens").values(row).execute();
    return { ...toTokenInfo(row), token };
  }

  /** The user's tokens, newest first; never their secrets. */
  async listTokens(userId: string): Promise<ApiTokenInfo[]> {
    const rows = await this.#db.selectFrom("api_tokens").selectAll().where("user_id", "=", userId).orderBy("created_at", "desc").execute();
    return rows.map(toTokenInfo);
  }

  async revokeToken(userId: string, id: string): Promise<boolean> {
    const r = await this.#db.deleteFrom("api_tokens").where("id", "=", id).where("user_id", "=", userId).executeTakeFirst();
    return Number(r.numDeletedRows) > 0;
  }

  /**
   * What a bearer token stands for: its user and scope; `expired` (with the token's name) once past its
   * expiry; null when it is unknown, revoked or its user is disabled. Marks a live token as used.
   */
  async resolveToken(token: string): Promise<TokenResolution | null> {
    if (!token.startsWith(TOKEN_PREFIX)) return null;
    const row = await this.#db
      .selectFrom("api_tokens")
      .innerJoin("users", "users.id", "api_tokens.user_id")
      .select([
        "users.id",
        "users.username",
        "users.role",
        "api_tokens.id as token_id",
        "api_tokens.name",
        "api_tokens.project",
        "api_tokens.access",
        "api_tokens.expires_at",
      ])
      .where("api_tokens.token_hash", "=", sha256Hex(token))
      .where("users.disabled", "=", 0)
      .executeTakeFirst();
    if (!row) return null;
    const now = this.#iso();
    if (row.expires_at !== null && row.expires_at <= now) return { expired: true, name: row.name, expiresAt: row.expires_at };
    await this.#markUsed(row.token_id, now);
    return {
      expired: false,
      user: toUser(row),
      scope: { id: row.token_id, name: row.name, project: row.project, access: row.access, expiresAt: row.expires_at },
    };
  }

  /** The user a live token stands for; null when it is unknown, revoked, expired or its user disabled. */
  async userForToken(token: string): Promise<User | null> {
    const r = await this.resolveToken(token);
    return r && !r.expired ? r.user : null;
  }

  /** Deletes a token by its secret (rotating the CLI's token); true when one was there. */
  async deleteTokenBySecret(token: string): Promise<boolean> {
    const r = await this.#db.deleteFrom("api_tokens").where("token_hash", "=", sha256Hex(token)).executeTakeFirst();
    return Number(r.numDeletedRows) > 0;
  }

  async userByName(username: string): Promise<User | null> {
    const row = await this.#db.selectFrom("users").selectAll().where("username", "=", username).executeTakeFirst();
    return row ? toUser(row) : null;
  }

  /**
   * Writes a token's last_used_at when this process has not written it in the last `lastUsedEveryMs`:
   * a busy client would otherwise make every request a write, and writers queue on SQLite's one lock.
   */
  async #markUsed(tokenId: string, now: string): Promise<void> {
    const at = Date.parse(now);
    const last = this.#lastUsedWritten.get(tokenId);
    if (last !== undefined && at - last < this.#lastUsedEvery && at >= last) return;
    this.#lastUsedWritten.set(tokenId, at);
    await this.#db.updateTable("api_tokens").set({ last_used_at: now }).where("id", "=", tokenId).execute();
  }

  #iso(): string {
    return this.#now().toISOString();
  }
}

function toUser(row: { id: string; username: string; role: string }): User {
  if (row.role !== "admin" && row.role !== "user")
    throw new CaretflowError({ code: "bad_role", kind: "bug", message: `unknown role ${row.role}` });
  return { id: row.id, username: row.username, role: row.role };
}

function toUserInfo(row: { id: string; username: string; role: string; disabled: number; created_at: string }): UserInfo {
  return { ...toUser(row), disabled: row.disabled !== 0, createdAt: row.created_at };
}

function toTokenInfo(row: {
  id: string;
  name: string;
  project: string | null;
  access: string;
  created_at: string;
  last_used_at: string | null;
  expires_at: string | null;
}): ApiTokenInfo {
  return {
    id: row.id,
    name: row.name,
    project: row.project,
    access: row.access === "read" ? "read" : "write",
    createdAt: row.created_at,
    lastUsedAt: row.last_used_at,
    expiresAt: row.expires_at,
  };
}
