import { type SecretKeyRotation, userError } from "@caretflow/contracts";
import type { Kysely, Transaction } from "kysely";
import type { ServerTables } from "../db/server.tables.ts";
import type { SecretBox } from "./secret-box.ts";

/** The SecretBox purpose of the single sign-on client secret (as sso.settings.ts seals it). */
const SSO_SECRET = "sso.client_secret";

/** One sealed value in the database: where it is and the purpose it was sealed for. */
interface SealedValue {
  context: string;
  sealed: string;
  /** Writes the re-sealed value back in the same transaction. */
  store(trx: Transaction<ServerTables>, value: string): Promise<void>;
}

/**
 * The server's secret key as a whole: rotating it (every sealed value in the database re-sealed in one
 * transaction, then the key file replaced; see SecretBox.rotate) and, at start, re-sealing values that
 * an interrupted rotation left under another key. Every sealed value lives in connections.secrets_json
 * (purpose `connection.<id>.<field>`), alert_rules.webhook_sealed (`alert.<id>.webhook`) or
 * sso_settings.client_secret_sealed.
 */
export class SecretKeyService {
  readonly #db: Kysely<ServerTables>;
  readonly #box: SecretBox;
  #rotating = false;

  constructor(deps: { db: Kysely<ServerTables>; secrets: SecretBox }) {
    this.#db = deps.db;
    this.#box = deps.secrets;
  }

  /** A new key; every stored secret re-sealed with it. Values no key opens are left as they are and named. */
  async rotate(): Promise<SecretKeyRotation> {
    if (this.#rotating)
      throw userError("rotation_in_progress", "The secret key is being rotated already", "Wait for that rotation to finish.", 409);
    this.#rotating = true;
    try {
      let result: SecretKeyRotation = { resealed: 0, connections: 0, ssoClientSecret: false, unreadable: [] };
      await this.#box.rotate(async (next) => {
        result = await this.#db.transaction().execute(async (trx) => {
          const values = await sealedValues(trx);
          const unreadable: string[] = [];
          const connections = new Set<string>();
          let resealed = 0;
          let sso = false;
          for (const v of values) {
            let value: string;
            try {
              value = this.#box.reseal(v.sealed, v.context, next);
            } catch {
              unreadable.push(v.context);
              continue;
            }
            await v.store(trx, value);
            resealed++;
            if (v.context === SSO_SECRET) sso = true;
            else if (v.context.startsWith("connection.")) connections.add(v.context.split(".")[1]!);
          }
          return { resealed, connections: connections.size, ssoClientSecret: sso, unreadable };
        });
      });
      return result;
    } finally {
      this.#rotating = false;
    }
  }

  /**
   * At start: values that open only with `secret.key.previous` or an unfinished rotation's
   * `secret.key.next` are re-sealed with the current key (one transaction); then `.next` is removed.
   * Returns how many were re-sealed.
   */
  async recover(): Promise<number> {
    const count = await this.#db.transaction().execute(async (trx) => {
      let n = 0;
      for (const v of await sealedValues(trx)) {
        if (this.#box.isCurrent(v.sealed, v.context)) continue;
        let value: string;
        try {
          value = this.#box.reseal(v.sealed, v.context, this.#box);
        } catch {
          continue; // no key opens it: left for an admin to set again (the service says so when it is used)
        }
        await v.store(trx, value);
        n++;
      }
      return n;
    });
    await this.#box.dropUnfinished();
    return count;
  }
}

/** Every sealed value in the database, read inside `trx`. */
async function sealedValues(trx: Transaction<ServerTables>): Promise<SealedValue[]> {
  const out: SealedValue[] = [];
  const rows = await trx.selectFrom("connections").select(["id", "secrets_json"]).orderBy("id").execute();
  for (const row of rows) {
    const sealed = JSON.parse(row.secrets_json) as Record<string, string>;
    // The row's fields are re-sealed one by one; each store writes the row's whole map as it stands.
    for (const [field, value] of Object.entries(sealed)) {
      out.push({
        context: `connection.${row.id}.${field}`,
        sealed: value,
        async store(t, next) {
          sealed[field] = next;
          await t
            .updateTable("connections")
            .set({ secrets_json: JSON.stringify(sealed) })
            .where("id", "=", row.id)
            .execute();
        },
      });
    }
  }
  const alerts = await trx.selectFrom("alert_rules").select(["id", "webhook_sealed"]).where("webhook_sealed", "is not", null).execute();
  for (const row of alerts) {
    out.push({
      context: `alert.${row.id}.webhook`,
      sealed: row.webhook_sealed!,
      async store(t, next) {
        await t.updateTable("alert_rules").set({ webhook_sealed: next }).where("id", "=", row.id).execute();
      },
    });
  }
  const sso = await trx.selectFrom("sso_settings").select("client_secret_sealed").where("id", "=", 1).executeTakeFirst();
  if (sso?.client_secret_sealed) {
    out.push({
      context: SSO_SECRET,
      sealed: sso.client_secret_sealed,
      async store(t, next) {
        await t.updateTable("sso_settings").set({ client_secret_sealed: next }).where("id", "=", 1).execute();
      },
    });
  }
  return out;
}
