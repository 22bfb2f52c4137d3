import type { Kysely } from "kysely";
import { describe, expect, it } from "vitest";
import { forEachDatabase } from "../../test/databases.ts";
import type { ServerTables } from "../db/server.tables.ts";
import { ModelLifecycleRepository } from "./model-lifecycle.repository.ts";

forEachDatabase("model lifecycle", (dbs) => {
  describe("ModelLifecycleRepository", () => {
    let db: Kysely<ServerTables>;

    it("keeps a model's setting, off until an owner turns it on", async () => {
      ({ db } = await dbs.fresh<ServerTables>());
      const repo = new ModelLifecycleRepository(db);
      expect(await repo.settings("churn")).toEqual({ productionNeedsApproval: false });
      expect(await repo.saveSettings("churn", { productionNeedsApproval: true }, "alice")).toEqual({ productionNeedsApproval: true });
      expect(await repo.settings("churn")).toEqual({ productionNeedsApproval: true });
      expect(await repo.settings("price")).toEqual({ productionNeedsApproval: false });
      await repo.saveSettings("churn", { productionNeedsApproval: false }, "alice");
      expect(await repo.settings("churn")).toEqual({ productionNeedsApproval: false });
    });

    it("decides a pending request once, and reopens one whose move failed", async () => {
      ({ db } = await dbs.fresh<ServerTables>());
      let clock = Date.parse("2026-12-03T10:00:00Z");
      const tick = () => {
        clock += 1000;
        return new Date(clock);
      };
      const repo = new ModelLifecycleRepository(db, tick);
      const a = await repo.createPromotion({ model: "churn", version: 2, stage: "production", requestedBy: "bob", reason: "better AUC" });
      const b = await repo.createPromotion({ model: "churn", version: 3, stage: "staging", requestedBy: "bob", reason: null });
      await repo.createPromotion({ model: "price", version: 1, stage: "staging", requestedBy: "bob", reason: null });
      expect((await repo.promotions("churn")).map((p) => p.id)).toEqual([b.id, a.id]);
      expect(a).toMatchObject({ status: "pending", to: "production", requestedBy: "bob", reason: "better AUC", decidedBy: null });

      const approved = await repo.decide("churn", a.id, "approved", "alice", "ok");
      expect(approved).toMatchObject({ status: "approved", decidedBy: "alice", decisionReason: "ok" });
      expect(approved?.decidedAt).toBe("2026-12-03T10:00:04.000Z");
      expect(await repo.decide("churn", a.id, "rejected", "carol", null)).toBeNull();
      expect(await repo.decide("price", a.id, "approved", "alice", null)).toBeNull();

      await repo.reopen("churn", a.id);
      expect(await repo.promotion("churn", a.id)).toMatchObject({ status: "pending", decidedBy: null, decidedAt: null });
      expect(await repo.promotion("price", a.id)).toBeNull();
    });

    it("numbers a model's moves and finds the last forward move into a stage", async () => {
      ({ db } = await dbs.fresh<ServerTables>());
      const repo = new ModelLifecycleRepository(db);
      const move = (version: number, replaced: number | null, kind: "promotion" | "rollback" | "alias" = "promotion") =>
        repo.addTransition({ model: "churn", stage: "production", version, replaced, kind, actor: "alice", reason: null, requestId: null });
      await move(1, null);
      await move(2, 1);
      await move(3, 2, "alias");
      await move(2, 3, "rollback");
      await repo.addTransition({
        model: "price",
        stage: "staging",
        version: 1,
        replaced: null,
        kind: "pipeline",
        actor: "system",
        reason: null,
        requestId: null,
      });
      // Concurrent writers each get their own number.
      await Promise.all([
        move(4, 2),
        repo.addTransition({
          model: "churn",
          stage: "archived",
          version: 1,
          replaced: null,
          kind: "promotion",
          actor: "bob",
          reason: "old",
          requestId: null,
        }),
      ]);

      const history = await repo.history("churn");
      expect(history.map((t) => t.id)).toEqual([6, 5, 4, 3, 2, 1]);
      expect(history.find((t) => t.id === 4)).toMatchObject({ version: 2, replaced: 3, kind: "rollback" });
      expect((await repo.history("price")).map((t) => [t.id, t.kind])).toEqual([[1, "pipeline"]]);
      // The rollback to 2 is not what put 2 in production: its forward move replaced 1.
      expect(await repo.lastForwardMoveTo("churn", "production", 2)).toMatchObject({ id: 2, replaced: 1 });
      expect(await repo.lastForwardMoveTo("churn", "staging", 2)).toBeNull();
    });

    it("records a stage alias removed as a move of its own, never taken for the move that put the version there", async () => {
      ({ db } = await dbs.fresh<ServerTables>());
      const repo = new ModelLifecycleRepository(db);
      const base = { model: "churn", stage: "production" as const, actor: "alice", reason: null, requestId: null };
      await repo.addTransition({ ...base, version: 1, replaced: null, kind: "promotion" });
      await repo.addTransition({ ...base, version: 2, replaced: 1, kind: "promotion" });
      const removed = await repo.addTransition({ ...base, version: 2, replaced: null, kind: "alias_removed", actor: "olga" });
      expect(removed).toMatchObject({ id: 3, version: 2, replaced: null, kind: "alias_removed", actor: "olga" });
      expect((await repo.history("churn")).map((t) => [t.id, t.kind])).toEqual([
        [3, "alias_removed"],
        [2, "promotion"],
        [1, "promotion"],
      ]);
      expect(await repo.lastForwardMoveTo("churn", "production", 2)).toMatchObject({ id: 2, replaced: 1 });
    });
  });
});
