import type { FeedbackLabel } from "@caretflow/contracts";
import type { Kysely } from "kysely";
import type { ServerTables } from "../db/server.tables.ts";

/** A stored label, keyed by prediction id and row. */
export interface StoredLabel {
  predictionId: string;
  row: number;
  label: string | number | boolean;
  receivedAt: string;
}

/** Rows written per INSERT: well under SQLite's and PostgreSQL's bound-parameter limits. */
const CHUNK = 500;

function decode(label: string, type: string): string | number | boolean {
  if (type === "number") return Number(label);
  if (type === "boolean") return label === "true";
  return label;
}

/**
 * Ground-truth labels of logged predictions in the metadata database (SQLite or PostgreSQL): one per
 * deployment, prediction id and row, so sending a label again replaces it (the last one wins) and a
 * retried request changes nothing.
 */
export class FeedbackRepository {
  constructor(
    private readonly db: Kysely<ServerTables>,
    private readonly now: () => Date = () => new Date(),
  ) {}

  /** Stores the labels (in one transaction); within a batch, a later label for the same row wins. */
  async upsert(deployment: string, labels: FeedbackLabel[], by: string): Promise<number> {
    const at = this.now().toISOString();
    const last = new Map<string, FeedbackLabel>();
    for (const l of labels) last.set(`${l.predictionId.toLowerCase()}/${l.row}`, l);
    const rows = [...last.values()].map((l) => ({
      deployment,
      prediction_id: l.predictionId.toLowerCase(),
      row: l.row,
      label: String(l.label),
      label_type: typeof l.label as "string" | "number" | "boolean",
      received_at: at,
      received_by: by,
    }));
    await this.db.transaction().execute(async (tx) => {
      for (let i = 0; i < rows.length; i += CHUNK) {
        await tx
          .insertInto("prediction_feedback")
          .values(rows.slice(i, i + CHUNK))
          .onConflict((oc) =>
            oc.columns(["deployment", "prediction_id", "row"]).doUpdateSet((eb) => ({
              label: eb.ref("excluded.label"),
              label_type: eb.ref("excluded.label_type"),
              received_at: eb.ref("excluded.received_at"),
              received_by: eb.ref("excluded.received_by"),
            })),
          )
          .execute();
      }
    });
    return rows.length;
  }

  /**
   * The deployment's labels received since `since`: labels arrive after their predictions, so these cover
   * every prediction made since then.
   */
  async since(deployment: string, since: Date): Promise<StoredLabel[]> {
    const rows = await this.db
      .selectFrom("prediction_feedback")
      .select(["prediction_id", "row", "label", "label_type", "received_at"])
      .where("deployment", "=", deployment)
      .where("received_at", ">=", since.toISOString())
      .execute();
    return rows.map((r) => ({
      predictionId: r.prediction_id,
      row: Number(r.row),
      label: decode(r.label, r.label_type),
      receivedAt: r.received_at,
    }));
  }

  /** Removes a deployment's labels (when the deployment is deleted). */
  async deleteAll(deployment: string): Promise<void> {
    await this.db.deleteFrom("prediction_feedback").where("deployment", "=", deployment).execute();
  }
}
