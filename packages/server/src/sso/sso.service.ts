import { type AuthProviders, CaretflowError, notFound, type SetSsoRequest, type SsoSettings, type User } from "@caretflow/contracts";
import type { Kysely } from "kysely";
import * as oidc from "openid-client";
import type { AuditLog } from "../audit/audit.log.ts";
import type { AuthService } from "../auth/auth.service.ts";
import { generateSecret, sha256Hex } from "../auth/password.ts";
import type { ServerTables } from "../db/server.tables.ts";
import type { Logger } from "../ports.ts";
import type { ProjectService } from "../projects/project.service.ts";
import type { SecretBox } from "../secrets/secret-box.ts";
import { discover, isUnreachable, OidcClient, reason, SsoRefusal } from "./oidc.client.ts";
import { userForIdentity } from "./oidc.users.ts";
import { CALLBACK_PATH, type SsoConfig, SsoSettingsStore } from "./sso.settings.ts";

/** How long a sign-in attempt may take at the provider. */
export const ATTEMPT_TTL_MS = 10 * 60 * 1000;
export const START_PATH = "/api/auth/oidc/start";
/** Sign-in attempts in flight at most: a flood of starts cannot grow the table without bound. */
export const MAX_ATTEMPTS = 10_000;

export interface SsoServiceOptions {
  db: Kysely<ServerTables>;
  secrets: SecretBox;
  auth: AuthService;
  projects: ProjectService;
  audit: AuditLog;
  log: Logger;
  /**
   * caretflow's public URL (origin) the redirect URI is built from: --public-url, else the address it
   * listens on. Never taken from a request's Host header.
   */
  publicUrl: () => string;
  now?: () => Date;
}

/**
 * Optional single sign-on with one OpenID Connect provider (authorization code flow with PKCE, state and
 * nonce, by openid-client): its settings, the sign-in attempts in flight, and who a verified identity is.
 */
export class SsoService {
  readonly settings: SsoSettingsStore;
  readonly #client = new OidcClient();
  readonly #opts: SsoServiceOptions;
  readonly #now: () => Date;

  constructor(opts: SsoServiceOptions) {
    this.#opts = opts;
    this.#now = opts.now ?? (() => new Date());
    this.settings = new SsoSettingsStore({ db: opts.db, secrets: opts.secrets, now: this.#now });
  }

  /** The redirect URI to register with the provider. */
  redirectUri(): string {
    return `${this.#opts.publicUrl()}${CALLBACK_PATH}`;
  }

  /** What the sign-in page offers. */
  async providers(): Promise<AuthProviders> {
    const row = await this.settings.view(this.#opts.publicUrl());
    return { password: true, sso: { enabled: row.enabled, label: row.buttonLabel, startUrl: START_PATH } };
  }

  /** The settings as a site admin sees them (never the secret). */
  view(): Promise<SsoSettings> {
    return this.settings.view(this.#opts.publicUrl());
  }

  /**
   * Checks the provider's discovery document with the new settings, then stores them (the secret sealed).
   * A default project must exist; a stored secret is kept only for the same issuer and client ID. Throws a
   * CaretflowError saying what is wrong; nothing is stored then.
   */
  async configure(req: SetSsoRequest): Promise<SsoSettings> {
    if (req.defaultProject !== null && !(await this.#opts.projects.exists(req.defaultProject))) {
      throw notFound("project", req.defaultProject, "Create it first (caretflow projects create NAME), or leave the default project out.");
    }
    const current = req.clientSecret === undefined ? await this.settings.config() : null;
    if (current?.clientSecret != null && (current.issuer !== req.issuer || current.clientId !== req.clientId)) {
      // The stored secret belongs to the old client: it is never sent to another provider or client.
      throw new CaretflowError({
        code: "sso_secret_required",
        kind: "user",
        status: 400,
        message: "The issuer or client ID changed, so the stored client secret (of the old client) cannot be kept",
        hint: "Give the new client's secret too (caretflow sso set ... --client-secret-stdin), or turn single sign-on off first for a public client without a secret.",
      });
    }
    const secret = req.clientSecret ?? current?.clientSecret ?? null;
    await discover({ issuer: req.issuer, clientId: req.clientId, clientSecret: secret });
    await this.settings.save(req);
    this.#client.reset();
    return await this.view();
  }

  /** Turns single sign-on off. */
  async disable(): Promise<SsoSettings> {
    await this.settings.clear();
    this.#client.reset();
    return await this.view();
  }

  /**
   * Starts a sign-in: records the attempt (state, nonce, PKCE verifier) under a fresh random value the
   * browser keeps in a cookie, and returns the provider's authorization URL.
   */
  async start(next: string | undefined): Promise<{ url: string; attemptCookie: string }> {
    const settings = await this.#config();
    if (!settings) throw new SsoRefusal("not_configured", "single sign-on is off");
    let config: oidc.Configuration;
    try {
      config = await this.#client.configuration(settings);
    } catch (err) {
      throw new SsoRefusal("unreachable", `discovery failed: ${(err as Error).message}`, err);
    }
    const codeVerifier = oidc.randomPKCECodeVerifier();
    const state = oidc.randomState();
    const nonce = oidc.randomNonce();
    const attemptCookie = generateSecret();
    const now = this.#now();
    await this.#opts.db.deleteFrom("oidc_attempts").where("expires_at", "<", now.toISOString()).execute();
    const inFlight = await this.#opts.db
      .selectFrom("oidc_attempts")
      .select((eb) => eb.fn.countAll<number>().as("n"))
      .executeTakeFirstOrThrow();
    if (Number(inFlight.n) >= MAX_ATTEMPTS) throw new SsoRefusal("busy", `${inFlight.n} sign-in attempts are in flight`);
    await this.#opts.db
      .insertInto("oidc_attempts")
      .values({
        id_hash: sha256Hex(attemptCookie),
        state,
        nonce,
        code_verifier: codeVerifier,
        next_path: localPath(next),
        expires_at: new Date(now.getTime() + ATTEMPT_TTL_MS).toISOString(),
      })
      .execute();
    const url = oidc.buildAuthorizationUrl(config, {
      redirect_uri: this.redirectUri(),
      scope: "openid profile email",
      code_challenge: await oidc.calculatePKCECodeChallenge(codeVerifier),
      code_challenge_method: "S256",
      state,
      nonce,
    });
    return { url: url.href, attemptCookie };
  }

  /**
   * Finishes a sign-in from the provider's redirect: the attempt (found by the browser's cookie) is used
   * once; the state must match it; openid-client exchanges the code (PKCE) and checks the ID token (nonce,
   * issuer, audience, signature). Returns the user and where to go; throws SsoRefusal otherwise.
   */
  async finish(
    attemptCookie: string | undefined,
    query: URLSearchParams,
    address: string,
  ): Promise<{ user: User; next: string; created: boolean }> {
    const settings = await this.#config();
    if (!settings) throw new SsoRefusal("not_configured", "single sign-on is off");
    if (!attemptCookie) throw new SsoRefusal("expired", "no attempt cookie");
    const attempt = await this.#opts.db
      .deleteFrom("oidc_attempts")
      .where("id_hash", "=", sha256Hex(attemptCookie))
      .returningAll()
      .executeTakeFirst();
    if (!attempt || attempt.expires_at < this.#now().toISOString()) throw new SsoRefusal("expired", "unknown or expired attempt");
    if (query.get("state") !== attempt.state) throw new SsoRefusal("state_mismatch", "state does not match the attempt");
    const error = query.get("error");
    if (error !== null) {
      throw new SsoRefusal(error === "access_denied" ? "access_denied" : "provider_error", `provider answered ${error.slice(0, 100)}`);
    }
    let config: oidc.Configuration;
    try {
      config = await this.#client.configuration(settings);
    } catch (err) {
      throw new SsoRefusal("unreachable", `discovery failed: ${(err as Error).message}`, err);
    }
    // The URL the provider redirected to, rebuilt from the public URL (never the request's Host header).
    const current = new URL(this.redirectUri());
    for (const [k, v] of query) current.searchParams.append(k, v);
    let identity: { issuer: string; subject: string; claims: Record<string, unknown> };
    try {
      const tokens = await oidc.authorizationCodeGrant(config, current, {
        pkceCodeVerifier: attempt.code_verifier,
        expectedState: attempt.state,
        expectedNonce: attempt.nonce,
        idTokenExpected: true,
      });
      const claims = tokens.claims();
      if (!claims) throw new Error("the provider returned no ID token");
      let profile: Record<string, unknown> = { ...claims };
      // Code-flow ID tokens often leave out profile claims; the userinfo endpoint has them.
      if (profile.preferred_username === undefined && profile.email === undefined && config.serverMetadata().userinfo_endpoint) {
        profile = { ...profile, ...(await oidc.fetchUserInfo(config, tokens.access_token, claims.sub)) };
      }
      identity = { issuer: config.serverMetadata().issuer, subject: claims.sub, claims: profile };
    } catch (err) {
      if (isUnreachable(err)) throw new SsoRefusal("unreachable", reason(err), err);
      throw new SsoRefusal("provider_error", reason(err), err);
    }
    const { user, created } = await userForIdentity(this.#opts, identity, settings, address);
    return { user, next: attempt.next_path ?? "/", created };
  }

  /** The settings; a stored secret that cannot be unsealed refuses the sign-in (the admin sees why in the log). */
  async #config(): Promise<SsoConfig | null> {
    try {
      return await this.settings.config();
    } catch (err) {
      throw new SsoRefusal("provider_error", (err as Error).message, err);
    }
  }
}

/**
 * A path on this site to go to after signing in, in printable ASCII (other characters are
 * percent-encoded); anything else becomes null: another site (`//host`, `/\host`), whitespace, control
 * characters and backslashes (browsers drop tabs and newlines, so `/\t/host` would become `//host`).
 */
export function localPath(next: string | undefined): string | null {
  if (next === undefined || next.length > 500 || !/^\/(?![/\\])[\x21-\x5b\x5d-\x7e]*$/.test(next)) return null;
  return next;
}
