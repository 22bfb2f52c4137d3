import type { ProjectRole, SetSsoRequest, SsoSettings } from "@caretflow/contracts";
import type { Kysely } from "kysely";
import type { ServerTables } from "../db/server.tables.ts";
import type { SecretBox } from "../secrets/secret-box.ts";

/** The SecretBox purpose of the client secret. */
const SECRET_CONTEXT = "sso.client_secret";
export const DEFAULT_BUTTON_LABEL = "Sign in with SSO";
/** The path of the callback under caretflow's public URL; the redirect URI registered with the provider. */
export const CALLBACK_PATH = "/api/auth/oidc/callback";

/** The stored settings as the sign-in flow needs them, secret unsealed. */
export interface SsoConfig {
  issuer: string;
  clientId: string;
  clientSecret: string | null;
  autoCreate: boolean;
  defaultProject: string | null;
  defaultRole: ProjectRole;
  buttonLabel: string;
  updatedAt: string;
}

/** The one row of sso_settings: read, replaced or removed. The client secret is sealed with the SecretBox. */
export class SsoSettingsStore {
  readonly #db: Kysely<ServerTables>;
  readonly #secrets: SecretBox;
  readonly #now: () => Date;

  constructor(opts: { db: Kysely<ServerTables>; secrets: SecretBox; now?: () => Date }) {
    this.#db = opts.db;
    this.#secrets = opts.secrets;
    this.#now = opts.now ?? (() => new Date());
  }

  /** The settings with the secret unsealed; null when single sign-on is off. */
  async config(): Promise<SsoConfig | null> {
    const row = await this.#db.selectFrom("sso_settings").selectAll().where("id", "=", 1).executeTakeFirst();
    if (!row) return null;
    return {
      issuer: row.issuer,
      clientId: row.client_id,
      clientSecret: row.client_secret_sealed === null ? null : this.#secrets.unseal(row.client_secret_sealed, SECRET_CONTEXT),
      autoCreate: row.auto_create !== 0,
      defaultProject: row.default_project,
      defaultRole: asRole(row.default_role),
      buttonLabel: row.button_label,
      updatedAt: row.updated_at,
    };
  }

  /** Whether a secret is stored (without unsealing it). */
  async hasSecret(): Promise<boolean> {
    const row = await this.#db.selectFrom("sso_settings").select("client_secret_sealed").where("id", "=", 1).executeTakeFirst();
    return row?.client_secret_sealed != null;
  }

  /** Replaces the settings; `clientSecret` undefined keeps the stored secret. */
  async save(req: SetSsoRequest): Promise<void> {
    const current = await this.#db.selectFrom("sso_settings").select("client_secret_sealed").where("id", "=", 1).executeTakeFirst();
    const sealed =
      req.clientSecret !== undefined ? this.#secrets.seal(req.clientSecret, SECRET_CONTEXT) : (current?.client_secret_sealed ?? null);
    const row = {
      issuer: req.issuer,
      client_id: req.clientId,
      client_secret_sealed: sealed,
      auto_create: req.autoCreate ? 1 : 0,
      default_project: req.defaultProject,
      default_role: req.defaultRole,
      button_label: req.buttonLabel,
      updated_at: this.#now().toISOString(),
    };
    await this.#db
      .insertInto("sso_settings")
      .values({ id: 1, ...row })
      .onConflict((oc) => oc.column("id").doUpdateSet(row))
      .execute();
  }

  /** Turns single sign-on off: forgets the provider and its secret (linked identities stay). */
  async clear(): Promise<void> {
    await this.#db.deleteFrom("sso_settings").execute();
  }

  /** What a site admin sees: never the secret, only whether one is set. */
  async view(publicUrl: string): Promise<SsoSettings> {
    const row = await this.#db.selectFrom("sso_settings").selectAll().where("id", "=", 1).executeTakeFirst();
    return {
      enabled: row !== undefined,
      issuer: row?.issuer ?? null,
      clientId: row?.client_id ?? null,
      clientSecretSet: row?.client_secret_sealed != null,
      autoCreate: row ? row.auto_create !== 0 : true,
      defaultProject: row?.default_project ?? null,
      defaultRole: row ? asRole(row.default_role) : "viewer",
      buttonLabel: row?.button_label ?? DEFAULT_BUTTON_LABEL,
      redirectUri: `${publicUrl}${CALLBACK_PATH}`,
      updatedAt: row?.updated_at ?? null,
    };
  }
}

function asRole(role: string): ProjectRole {
  return role === "owner" || role === "editor" ? role : "viewer";
}
