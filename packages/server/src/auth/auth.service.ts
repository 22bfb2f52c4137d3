import { randomUUID } from "node:crypto";
import { CaretflowError, type CreatedUser, notFound, type User, type UserInfo, userError } from "@caretflow/contracts";
import type { Kysely } from "kysely";
import type { ServerTables } from "../db/server.tables.ts";
import { generatePassword, generateSecret, hashPassword, sha256Hex, verifyPassword } from "./password.ts";

export const SESSION_COOKIE = "caretflow_session";
export const TOKEN_PREFIX = "cf_";

export interface AuthServiceOptions {
  db: Kysely<ServerTables>;
  sessionTtlMs?: number;
  now?: () => Date;
}

/** Users, sessions and API tokens. Secrets are stored only as hashes. */
export class AuthService {
  readonly #db: Kysely<ServerTables>;
  readonly #ttl: number;
  readonly #now: () => Date;
  // A wrong password costs as much as a right one, so timing does not reveal which usernames exist.
  #dummyHash: Promise<string> | null = null;

  constructor(opts: AuthServiceOptions) {
    this.#db = opts.db;
    this.#ttl = opts.sessionTtlMs ?? 7 * 24 * 3600 * 1000;
    this.#now = opts.now ?? (() => new Date());
  }

  /** Creates the `admin` user on first start; returns its generated password then, null afterwards. */
  async ensureAdmin(): Promise<string | null> {
    const existing = await this.#db.selectFrom("users").select("id").where("username", "=", "admin").executeTakeFirst();
    if (existing) return null;
    const password = generatePassword();
    await this.#db
      .insertInto("users")
      .values({ id: randomUUID(), username: "admin", password_hash: await hashPassword(password), role: "admin", created_at: this.#iso() })
      .execute();
    return password;
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
    return rows.map(toUserInfo);
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

  async createToken(
    userId: string,
    name: string,
  ): Promise<{ id: string; name: string; createdAt: string; lastUsedAt: null; token: string }> {
    const token = generateSecret(TOKEN_PREFIX);
    const id = randomUUID();
    const createdAt = this.#iso();
    await this.#db
      .insertInto("api_tokens")
      .values({ id, user_id: userId, name, token_hash: sha256Hex(token), created_at: createdAt, last_used_at: null })
      .execute();
    return { id, name, createdAt, lastUsedAt: null, token };
  }

  async listTokens(userId: string): Promise<Array<{ id: string; name: string; createdAt: string; lastUsedAt: string | null }>> {
    const rows = await this.#db.selectFrom("api_tokens").selectAll().where("user_id", "=", userId).orderBy("created_at", "desc").execute();
    return rows.map((r) => ({ id: r.id, name: r.name, createdAt: r.created_at, lastUsedAt: r.last_used_at }));
  }

  async revokeToken(userId: string, id: string): Promise<boolean> {
    const r = await this.#db.deleteFrom("api_tokens").where("id", "=", id).where("user_id", "=", userId).executeTakeFirst();
    return Number(r.numDeletedRows) > 0;
  }

  async userForToken(token: string): Promise<User | null> {
    if (!token.startsWith(TOKEN_PREFIX)) return null;
    const hash = sha256Hex(token);
    const row = await this.#db
      .selectFrom("api_tokens")
      .innerJoin("users", "users.id", "api_tokens.user_id")
      .select(["users.id", "users.username", "users.role", "api_tokens.id as token_id"])
      .where("api_tokens.token_hash", "=", hash)
      .where("users.disabled", "=", 0)
      .executeTakeFirst();
    if (!row) return null;
    await this.#db.updateTable("api_tokens").set({ last_used_at: this.#iso() }).where("id", "=", row.token_id).execute();
    return toUser(row);
  }

  async userByName(username: string): Promise<User | null> {
    const row = await this.#db.selectFrom("users").selectAll().where("username", "=", username).executeTakeFirst();
    return row ? toUser(row) : null;
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
