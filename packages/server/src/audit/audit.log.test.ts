import { type Kysely, sql } from "kysely";
import { beforeEach, expect, it } from "vitest";
import { forEachDatabase } from "../../test/databases.ts";
import { type DatabaseTarget, openDatabase } from "../db/database.ts";
import type { ServerTables } from "../db/server.tables.ts";
import { GENESIS_HASH, SNAPSHOT_MAX_BYTES } from "./audit.hash.ts";
import { AuditLog, type AuditRecord, SYSTEM_ACTOR } from "./audit.log.ts";

let target: DatabaseTarget;
let db: Kysely<ServerTables>;
let log: AuditLog;
const alice = { id: "u1", name: "alice" };

const entry = (i: number, over: Partial<AuditRecord> = {}): AuditRecord => ({
  actor: alice,
  action: "job.create",
  target: { kind: "job", id: `job_${i}` },
  address: "127.0.0.1",
  after: { i },
  ...over,
});

async function appendMany(n: number) {
  for (let i = 1; i <= n; i++) await log.record(entry(i));
}

forEachDatabase("AuditLog", (dbs) => {
  beforeEach(async () => {
    ({ db, target } = await dbs.fresh<ServerTables>());
    log = new AuditLog({ db });
  });

  it("appends rows with increasing seq, each linked to the previous hash", async () => {
    const a = await log.record(entry(1));
    const b = await log.record(entry(2, { actor: SYSTEM_ACTOR, action: "dataset.import", project: null }));
    expect(a).toMatchObject({ seq: 1, prevHash: GENESIS_HASH, project: "default", actor: alice, address: "127.0.0.1", after: { i: 1 } });
    expect(b).toMatchObject({ seq: 2, prevHash: a.hash, project: null, actor: { id: null, name: "system" } });
    expect(a.hash).toMatch(/^[0-9a-f]{64}$/);
    expect(await log.verify()).toEqual({ ok: true, rows: 2, head: { seq: 2, hash: b.hash } });
  });

  it("verifies an empty log", async () => {
    expect(await log.verify()).toEqual({ ok: true, rows: 0, head: null });
  });

  it("names the row edited directly in the database", async () => {
    await appendMany(5);
    await sql`update audit_log set actor_name = 'mallory' where seq = 3`.execute(db);
    expect(await log.verify()).toMatchObject({ ok: false, seq: 3, reason: "edited", rows: 2 });
  });

  it("names the row after one replaced with a recomputed hash", async () => {
    await appendMany(4);
    // A forger who rewrites row 2 and its hash still cannot fix row 3's link without rewriting every later row.
    const { rowHash } = await import("./audit.hash.ts");
    const row = await db.selectFrom("audit_log").selectAll().where("seq", "=", 2).executeTakeFirstOrThrow();
    const forged = { ...row, after_json: '{"i":99}' };
    await sql`update audit_log set after_json = ${forged.after_json}, hash = ${rowHash(forged)} where seq = 2`.execute(db);
    expect(await log.verify()).toMatchObject({ ok: false, seq: 3, reason: "broken_link" });
  });

  it("detects a deleted row as a gap", async () => {
    await appendMany(5);
    await sql`delete from audit_log where seq = 2`.execute(db);
    const r = await log.verify();
    expect(r).toMatchObject({ ok: false, seq: 2, reason: "missing", rows: 1 });
    expect(r.ok === false && r.message).toMatch(/row 2 is missing/);
  });

  it("detects deleted newest rows against the recorded head", async () => {
    await appendMany(5);
    await sql`delete from audit_log where seq >= 4`.execute(db);
    expect(await log.verify()).toMatchObject({ ok: false, seq: 4, reason: "truncated", rows: 3 });
    await sql`delete from audit_log`.execute(db);
    expect(await log.verify()).toMatchObject({ ok: false, seq: 1, reason: "truncated", rows: 0 });
  });

  it("keeps one chain under concurrent appends, also from a second connection", async () => {
    const other = await openDatabase<ServerTables>(target);
    try {
      const second = new AuditLog({ db: other });
      await Promise.all(
        Array.from({ length: 40 }, (_, i) => (i % 2 === 0 ? log : second).record(entry(i, { actor: i % 2 === 0 ? alice : SYSTEM_ACTOR }))),
      );
    } finally {
      await other.destroy();
    }
    const seqs = (await db.selectFrom("audit_log").select("seq").orderBy("seq").execute()).map((r) => r.seq);
    expect(seqs).toEqual(Array.from({ length: 40 }, (_, i) => i + 1));
    expect(await log.verify()).toMatchObject({ ok: true, rows: 40 });
  });

  it("never stores secrets and cuts large snapshots", async () => {
    const e = await log.record(
      entry(1, {
        before: { password: "hunter2", nested: { apiToken: "cf_abc", Cookie: "s=1", keep: "yes" } },
        after: { rows: "x".repeat(SNAPSHOT_MAX_BYTES + 10) },
      }),
    );
    expect(e.before).toEqual({ password: "[redacted]", nested: { apiToken: "[redacted]", Cookie: "[redacted]", keep: "yes" } });
    expect(e.after).toMatchObject({ truncated: true, bytes: SNAPSHOT_MAX_BYTES + 21 });
    const raw = await db.selectFrom("audit_log").select(["before_json", "after_json"]).executeTakeFirstOrThrow();
    expect(JSON.stringify(raw)).not.toMatch(/hunter2|cf_abc|xxxxxxxx/);
    expect(await log.verify()).toMatchObject({ ok: true });
  });

  it("filters, searches and pages newest first", async () => {
    await log.record(entry(1, { action: "auth.login", target: { kind: "user", id: "alice" } }));
    await log.record(entry(2, { actor: SYSTEM_ACTOR, action: "dataset.import", target: { kind: "dataset", id: "juice/1" } }));
    await log.record(entry(3, { action: "job.cancel", after: { note: "100%_done" } }));
    await log.record(entry(4, { action: "job.create", project: "other" }));
    const actions = async (q: Parameters<AuditLog["list"]>[0]) => (await log.list(q)).entries.map((e) => e.action);
    expect(await actions({ limit: 10 })).toEqual(["job.create", "job.cancel", "dataset.import", "auth.login"]);
    expect(await actions({ limit: 10, action: "job.*" })).toEqual(["job.create", "job.cancel"]);
    expect(await actions({ limit: 10, actor: "system" })).toEqual(["dataset.import"]);
    expect(await actions({ limit: 10, actor: "u1", project: "default" })).toEqual(["job.cancel", "auth.login"]);
    expect(await actions({ limit: 10, target: "dataset:juice/1" })).toEqual(["dataset.import"]);
    expect(await actions({ limit: 10, target: "alice" })).toEqual(["auth.login"]);
    expect(await actions({ limit: 10, q: "0%_d" })).toEqual(["job.cancel"]);
    expect(await actions({ limit: 10, q: "JUICE" })).toEqual(["dataset.import"]);
    expect(await actions({ limit: 10, since: "2999-01-01T00:00:00Z" })).toEqual([]);
    expect(await actions({ limit: 10, until: "2999-01-01T00:00:00Z" })).toHaveLength(4);
    const first = await log.list({ limit: 3 });
    expect(first.entries.map((e) => e.seq)).toEqual([4, 3, 2]);
    expect(first.nextBefore).toBe(2);
    const second = await log.list({ limit: 3, before: 2 });
    expect(second).toMatchObject({ entries: [{ seq: 1 }], nextBefore: null });
    const exported: number[] = [];
    for await (const e of log.export({ action: "job.*" })) exported.push(e.seq);
    expect(exported).toEqual([3, 4]);
  });
});
