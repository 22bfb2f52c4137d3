import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { dataMigrations } from "@caretflow/data";
import type { Kysely } from "kysely";
import { afterAll, beforeAll, expect, it } from "vitest";
import { migrateToLatest, openSqlite } from "../db/database.ts";
import { serverMigrations } from "../db/server.migrations.ts";
import type { ServerTables } from "../db/server.tables.ts";
import { AuthService } from "./auth.service.ts";

/** A token's last_used_at is written on first use and then at most once a minute, however often it is used. */
let dir = "";
let db: Kysely<ServerTables>;
let now = Date.parse("2026-12-04T10:00:00.000Z");
let auth: AuthService;

const lastUsed = async (id: string) =>
  (await db.selectFrom("api_tokens").select("last_used_at").where("id", "=", id).executeTakeFirstOrThrow()).last_used_at;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "caretflow-token-used-"));
  db = openSqlite<ServerTables>(join(dir, "caretflow.db"));
  await migrateToLatest(db as Kysely<unknown>, serverMigrations, dataMigrations);
  auth = new AuthService({ db, now: () => new Date(now) });
  await auth.createUser({ username: "ann" });
});

afterAll(async () => {
  await db?.destroy();
  if (dir) await rm(dir, { recursive: true, force: true });
});

it("writes last_used_at on first use, then at most once a minute per token", async () => {
  const ann = (await auth.userByName("ann"))!;
  const a = await auth.createToken(ann.id, "a");
  const b = await auth.createToken(ann.id, "b");
  expect(await lastUsed(a.id)).toBeNull();

  expect(await auth.userForToken(a.token)).toMatchObject({ username: "ann" });
  expect(await lastUsed(a.id)).toBe("2026-12-04T10:00:00.000Z");

  now += 59_000;
  for (let i = 0; i < 20; i++) expect(await auth.userForToken(a.token)).not.toBeNull();
  expect(await lastUsed(a.id)).toBe("2026-12-04T10:00:00.000Z");
  // Another token is not held back by the first one's write.
  await auth.userForToken(b.token);
  expect(await lastUsed(b.id)).toBe("2026-12-04T10:00:59.000Z");

  now += 1000;
  await auth.userForToken(a.token);
  expect(await lastUsed(a.id)).toBe("2026-12-04T10:01:00.000Z");
});

it("still refuses a revoked token whose last use was written moments before", async () => {
  const ann = (await auth.userByName("ann"))!;
  const t = await auth.createToken(ann.id, "short");
  expect(await auth.userForToken(t.token)).not.toBeNull();
  expect(await auth.revokeToken(ann.id, t.id)).toBe(true);
  expect(await auth.userForToken(t.token)).toBeNull();
});
