import { randomUUID } from "node:crypto";
import type { ModelSettings, ModelStage, PromotionRequest, StageTransition, TransitionKind } from "@caretflow/contracts";
import type { Kysely, Selectable } from "kysely";
import type { ServerTables } from "../db/server.tables.ts";

type PromotionRow = Selectable<ServerTables["model_promotions"]>;
type TransitionRow = Selectable<ServerTables["model_transitions"]>;

/** A stage move to record: `version` took `stage` from `replaced`. */
export interface NewTransition {
  model: string;
  stage: ModelStage;
  version: number;
  replaced: number | null;
  kind: TransitionKind;
  actor: string;
  reason: string | null;
  requestId: string | null;
}

const toPromotion = (r: PromotionRow): PromotionRequest => ({
  id: r.id,
  model: r.model,
  version: r.version,
  to: r.stage as ModelStage,
  requestedBy: r.requested_by,
  reason: r.reason,
  status: r.status as PromotionRequest["status"],
  decidedBy: r.decided_by,
  decidedAt: r.decided_at,
  decisionReason: r.decision_reason,
  createdAt: r.created_at,
});

const toTransition = (r: TransitionRow): StageTransition => ({
  id: r.seq,
  model: r.model,
  stage: r.stage as ModelStage,
  version: r.version,
  replaced: r.replaced,
  kind: r.kind as TransitionKind,
  actor: r.actor,
  reason: r.reason,
  requestId: r.request_id,
  at: r.at,
});

/** A registered model's settings, promotion requests and stage moves, in caretflow's database. */
export class ModelLifecycleRepository {
  readonly #db: Kysely<ServerTables>;
  readonly #now: () => Date;

  constructor(db: Kysely<ServerTables>, now: () => Date = () => new Date()) {
    this.#db = db;
    this.#now = now;
  }

  async settings(model: string): Promise<ModelSettings> {
    const row = await this.#db.selectFrom("model_settings").selectAll().where("model", "=", model).executeTakeFirst();
    return { productionNeedsApproval: row?.production_needs_approval === 1 };
  }

  async saveSettings(model: string, settings: ModelSettings, actor: string): Promise<ModelSettings> {
    const values = {
      production_needs_approval: settings.productionNeedsApproval ? 1 : 0,
      updated_by: actor,
      updated_at: this.#now().toISOString(),
    };
    await this.#db
      .insertInto("model_settings")
      .values({ model, ...values })
      .onConflict((oc) => oc.column("model").doUpdateSet(values))
      .execute();
    return this.settings(model);
  }

  async createPromotion(p: {
    model: string;
    version: number;
    stage: ModelStage;
    requestedBy: string;
    reason: string | null;
  }): Promise<PromotionRequest> {
    const row: PromotionRow = {
      id: randomUUID(),
      model: p.model,
      version: p.version,
      stage: p.stage,
      requested_by: p.requestedBy,
      reason: p.reason,
      status: "pending",
      decided_by: null,
      decided_at: null,
      decision_reason: null,
      created_at: this.#now().toISOString(),
    };
    await this.#db.insertInto("model_promotions").values(row).execute();
    return toPromotion(row);
  }

  async promotion(model: string, id: string): Promise<PromotionRequest | null> {
    const row = await this.#db
      .selectFrom("model_promotions")
      .selectAll()
      .where("model", "=", model)
      .where("id", "=", id)
      .executeTakeFirst();
    return row ? toPromotion(row) : null;
  }

  /** The model's requests, newest first. */
  async promotions(model: string): Promise<PromotionRequest[]> {
    const rows = await this.#db
      .selectFrom("model_promotions")
      .selectAll()
      .where("model", "=", model)
      .orderBy("created_at", "desc")
      .orderBy("id")
      .execute();
    return rows.map(toPromotion);
  }

  /**
   * Decides a pending request; null when it was no longer pending (another owner decided first).
   * `reopen` puts an approved request back to pending when the move it approved failed.
   */
  async decide(
    model: string,
    id: string,
    status: "approved" | "rejected",
    decidedBy: string,
    reason: string | null,
  ): Promise<PromotionRequest | null> {
    const r = await this.#db
      .updateTable("model_promotions")
      .set({ status, decided_by: decidedBy, decided_at: this.#now().toISOString(), decision_reason: reason })
      .where("model", "=", model)
      .where("id", "=", id)
      .where("status", "=", "pending")
      .executeTakeFirst();
    return Number(r.numUpdatedRows) > 0 ? this.promotion(model, id) : null;
  }

  async reopen(model: string, id: string): Promise<void> {
    await this.#db
      .updateTable("model_promotions")
      .set({ status: "pending", decided_by: null, decided_at: null, decision_reason: null })
      .where("model", "=", model)
      .where("id", "=", id)
      .execute();
  }

  /** Records a move with the model's next sequence number (retried when another writer took it). */
  async addTransition(t: NewTransition): Promise<StageTransition> {
    for (let attempt = 1; ; attempt++) {
      const last = await this.#db
        .selectFrom("model_transitions")
        .select((eb) => eb.fn.max("seq").as("seq"))
        .where("model", "=", t.model)
        .executeTakeFirst();
      const row: TransitionRow = {
        model: t.model,
        seq: Number(last?.seq ?? 0) + 1,
        stage: t.stage,
        version: t.version,
        replaced: t.replaced,
        kind: t.kind,
        actor: t.actor,
        reason: t.reason,
        request_id: t.requestId,
        at: this.#now().toISOString(),
      };
      try {
        await this.#db.insertInto("model_transitions").values(row).execute();
        return toTransition(row);
      } catch (err) {
        if (attempt >= 5) throw err;
      }
    }
  }

  /** The model's moves, newest first. */
  async history(model: string): Promise<StageTransition[]> {
    const rows = await this.#db.selectFrom("model_transitions").selectAll().where("model", "=", model).orderBy("seq", "desc").execute();
    return rows.map(toTransition);
  }

  /** The latest move that put `version` into `stage` other than a rollback, or null (a removal put nothing there). */
  async lastForwardMoveTo(model: string, stage: ModelStage, version: number): Promise<StageTransition | null> {
    const row = await this.#db
      .selectFrom("model_transitions")
      .selectAll()
      .where("model", "=", model)
      .where("stage", "=", stage)
      .where("version", "=", version)
      .where("kind", "not in", ["rollback", "alias_removed"])
      .orderBy("seq", "desc")
      .limit(1)
      .executeTakeFirst();
    return row ? toTransition(row) : null;
  }
}
