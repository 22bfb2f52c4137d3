import {
  type AuditActor,
  type AuditEntry,
  type AuditQuery,
  type AuditVerifyResult,
  DEFAULT_PROJECT,
  type User,
} from "@caretflow/contracts";
import { type Kysely, type SelectQueryBuilder, sql } from "kysely";
import { isWriteConflict } from "../db/database.ts";
import type { ServerTables } from "../db/server.tables.ts";
import { type AuditRow, GENESIS_HASH, rowHash, snapshotJson } from "./audit.hash.ts";

/** The server itself as an actor (its own jobs' outputs, demo data, the admin password reset). */
export const SYSTEM_ACTOR: AuditActor = { id: null, name: "system" };

/** A signed-in user as an actor. */
export function actorOf(user: Pick<User, "id" | "username">): AuditActor {
  return { id: user.id, name: user.username };
}

/** What a caller says about one change. Snapshots are redacted and capped before they are stored. */
export interface AuditRecord {
  actor: AuditActor;
  /** e.g. dataset.import, job.create, model.alias.set, auth.login_failed */
  action: string;
  target: { kind: string; id: string };
  /** The project the change touched; the default project when left out. */
  project?: string | null;
  address?: string | null;
  before?: unknown;
  after?: unknown;
}

export type AuditFilter = Omit<AuditQuery, "before" | "limit">;

const HEAD_KEY = "audit_head";
const PAGE = 500;

/**
 * The append-only, hash-chained audit log. Each row's hash covers its fields and the previous
 * row's hash, so editing, deleting or reordering a row breaks the chain; `verify` finds where.
 * Appends are serialised in this process and run in one transaction each; `seq` and `prev_hash`
 * are unique, so a writer in another process (the admin password reset) cannot fork the chain: it
 * fails and retries on the new head. Nothing here updates or deletes a row.
 */
export class AuditLog {
  readonly #db: Kysely<ServerTables>;
  readonly #now: () => Date;
  #tail: Promise<unknown> = Promise.resolve();

  constructor(opts: { db: Kysely<ServerTables>; now?: () => Date }) {
    this.#db = opts.db;
    this.#now = opts.now ?? (() => new Date());
  }

  /** Appends one entry after every earlier one; resolves to it once committed. */
  record(r: AuditRecord): Promise<AuditEntry> {
    const next = this.#tail.then(() => this.#appendWithRetry(r));
    this.#tail = next.catch(() => {});
    return next;
  }

  async #appendWithRetry(r: AuditRecord): Promise<AuditEntry> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.#append(r);
      } catch (err) {
        // Another process appended between our read of the head and our insert (unique seq/prev_hash),
        // or held the write lock past the busy timeout: read the new head and try again.
        if (!isWriteConflict(err) || attempt >= 20) throw err;
        await new Promise((ok) => setTimeout(ok, 5 * attempt));
      }
    }
  }

  async #append(r: AuditRecord): Promise<AuditEntry> {
    return await this.#db.transaction().execute(async (trx) => {
      const last = await trx.selectFrom("audit_log").select(["seq", "hash"]).orderBy("seq", "desc").limit(1).executeTakeFirst();
      const body: Omit<AuditRow, "hash"> = {
        seq: (last?.seq ?? 0) + 1,
        at: this.#now().toISOString(),
        actor_id: r.actor.id,
        actor_name: r.actor.name,
        action: r.action,
        target_kind: r.target.kind,
        target_id: r.target.id,
        project: r.project === undefined ? DEFAULT_PROJECT : r.project,
        address: r.address ?? null,
        before_json: snapshotJson(r.before),
        after_json: snapshotJson(r.after),
        prev_hash: last?.hash ?? GENESIS_HASH,
      };
      const row: AuditRow = { ...body, hash: rowHash(body) };
      await trx.insertInto("audit_log").values(row).execute();
      // The head is kept apart from the rows, so deleting the newest rows is detected too.
      const head = JSON.stringify({ seq: row.seq, hash: row.hash });
      await trx
        .insertInto("server_meta")
        .values({ key: HEAD_KEY, value: head, updated_at: row.at })
        .onConflict((oc) => oc.column("key").doUpdateSet({ value: head, updated_at: row.at }))
        .execute();
      return toEntry(row);
    });
  }

  /** Entries matching `q`, newest first, `q.limit` at a time; `nextBefore` pages on. */
  async list(q: AuditQuery): Promise<{ entries: AuditEntry[]; nextBefore: number | null }> {
    let query = filtered(this.#db.selectFrom("audit_log").selectAll(), q);
    if (q.before !== undefined) query = query.where("seq", "<", q.before);
    const rows = await query
      .orderBy("seq", "desc")
      .limit(q.limit + 1)
      .execute();
    const page = rows.slice(0, q.limit);
    return { entries: page.map(toEntry), nextBefore: rows.length > q.limit ? (page.at(-1)?.seq ?? null) : null };
  }

  /** Every entry matching `f`, oldest first, read a page at a time. */
  async *export(f: AuditFilter): AsyncGenerator<AuditEntry> {
    let after = 0;
    for (;;) {
      const rows = await filtered(this.#db.selectFrom("audit_log").selectAll(), f)
        .where("seq", ">", after)
        .orderBy("seq", "asc")
        .limit(PAGE)
        .execute();
      for (const row of rows) yield toEntry(row);
      if (rows.length < PAGE) return;
      after = rows.at(-1)!.seq;
    }
  }

  /**
   * Walks the chain in seq order: every seq follows the last (no deleted row), every row's hash
   * matches its content (no edited row), every prev_hash is the previous row's hash (no replaced
   * row), and the last row is the recorded head (no deleted newest rows). Returns the first break.
   */
  async verify(): Promise<AuditVerifyResult> {
    let expected = 1;
    let prev = GENESIS_HASH;
    let rows = 0;
    for (;;) {
      const page = await this.#db
        .selectFrom("audit_log")
        .selectAll()
        .where("seq", ">=", expected)
        .orderBy("seq", "asc")
        .limit(PAGE)
        .execute();
      for (const row of page) {
        if (row.seq !== expected) {
          return broken(rows, expected, "missing", `row ${expected} is missing (the next row is ${row.seq}): rows were deleted`);
        }
        if (rowHash(row) !== row.hash) {
          return broken(rows, row.seq, "edited", `row ${row.seq} was changed after it was written: its content does not match its hash`);
        }
        if (row.prev_hash !== prev) {
          return broken(
            rows,
            row.seq,
            "broken_link",
            `row ${row.seq} does not follow row ${row.seq - 1}: its prev_hash is not that row's hash (a row was replaced)`,
          );
        }
        prev = row.hash;
        expected++;
        rows++;
      }
      if (page.length < PAGE) break;
    }
    const headRow = await this.#db.selectFrom("server_meta").select("value").where("key", "=", HEAD_KEY).executeTakeFirst();
    const head = headRow ? (JSON.parse(headRow.value) as { seq: number; hash: string }) : null;
    const last = rows === 0 ? null : { seq: expected - 1, hash: prev };
    if (head && (last === null || head.seq > last.seq)) {
      return broken(rows, expected, "truncated", `rows ${expected} to ${head.seq} are missing: the newest rows were deleted`);
    }
    if (last && (!head || head.seq !== last.seq || head.hash !== last.hash)) {
      return broken(rows, last.seq, "broken_link", `row ${last.seq} is not the head the log recorded (the head was changed or removed)`);
    }
    return { ok: true, rows, head: last };
  }
}

function broken(
  rows: number,
  seq: number,
  reason: Extract<AuditVerifyResult, { ok: false }>["reason"],
  message: string,
): AuditVerifyResult {
  return { ok: false, rows, seq, reason, message };
}

function filtered<O>(
  query: SelectQueryBuilder<ServerTables, "audit_log", O>,
  f: AuditFilter,
): SelectQueryBuilder<ServerTables, "audit_log", O> {
  let q = query;
  if (f.action)
    q = f.action.endsWith("*") ? q.where(like("action", `${likeEscape(f.action.slice(0, -1))}%`)) : q.where("action", "=", f.action);
  if (f.actor) {
    const actor = f.actor;
    q = q.where((eb) => eb.or([eb("actor_name", "=", actor), eb("actor_id", "=", actor)]));
  }
  if (f.project) q = q.where("project", "=", f.project);
  if (f.target) {
    const t = f.target;
    const colon = t.indexOf(":");
    q = q.where((eb) =>
      eb.or([
        eb("target_id", "=", t),
        ...(colon > 0 ? [eb.and([eb("target_kind", "=", t.slice(0, colon)), eb("target_id", "=", t.slice(colon + 1))])] : []),
      ]),
    );
  }
  if (f.since) q = q.where("at", ">=", new Date(f.since).toISOString());
  if (f.until) q = q.where("at", "<", new Date(f.until).toISOString());
  if (f.q) {
    const pattern = `%${likeEscape(f.q)}%`;
    q = q.where((eb) =>
      eb.or(["action", "actor_name", "target_kind", "target_id", "address", "before_json", "after_json"].map((c) => like(c, pattern))),
    );
  }
  return q;
}

/** Escapes LIKE's wildcards so a search for "50%" or "a_b" matches those characters. */
function likeEscape(s: string): string {
  return s.replace(/[\\%_]/g, (m) => `\\${m}`);
}

/** Case-insensitive on both databases (SQLite's LIKE ignores ASCII case, PostgreSQL's does not). */
function like(column: string, pattern: string) {
  return sql<boolean>`lower(${sql.ref(column)}) like lower(${pattern}) escape '\\'`;
}

function toEntry(row: AuditRow): AuditEntry {
  return {
    seq: row.seq,
    at: row.at,
    actor: { id: row.actor_id, name: row.actor_name },
    action: row.action,
    target: { kind: row.target_kind, id: row.target_id },
    project: row.project,
    address: row.address,
    before: row.before_json === null ? null : JSON.parse(row.before_json),
    after: row.after_json === null ? null : JSON.parse(row.after_json),
    prevHash: row.prev_hash,
    hash: row.hash,
  };
}
