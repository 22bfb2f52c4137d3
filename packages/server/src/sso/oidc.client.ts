import { CaretflowError, type SsoErrorCode } from "@caretflow/contracts";
import * as oidc from "openid-client";
import type { SsoConfig } from "./sso.settings.ts";

/** Seconds each request to the provider may take. */
const PROVIDER_TIMEOUT_S = 10;

/** A sign-in that ends on the sign-in page with the message for `code` (contracts' SSO_ERRORS). */
export class SsoRefusal extends Error {
  readonly code: SsoErrorCode;
  constructor(code: SsoErrorCode, detail: string, cause?: unknown) {
    super(detail, cause === undefined ? undefined : { cause });
    this.name = "SsoRefusal";
    this.code = code;
  }
}

/**
 * Plain http is accepted only for a provider on this machine (a local test or development provider);
 * anywhere else the issuer must be https, so codes and tokens never cross the network in clear.
 */
export function insecureAllowed(issuer: URL): boolean {
  return issuer.protocol === "http:" && ["localhost", "127.0.0.1", "[::1]"].includes(issuer.hostname);
}

/** Refuses an issuer URL that is neither https nor http on this machine, with what to do. */
export function checkIssuerUrl(raw: string): URL {
  const url = new URL(raw);
  if (url.protocol !== "https:" && !insecureAllowed(url)) {
    throw new CaretflowError({
      code: "sso_issuer_insecure",
      kind: "user",
      status: 400,
      message: `The issuer ${url.origin} is plain http; an identity provider must be reached over https`,
      hint: "Give the provider's https issuer URL (http is accepted only for localhost).",
    });
  }
  return url;
}

/**
 * The provider's configuration from its discovery document (openid-client), cached until the settings
 * change. The client authenticates with client_secret_basic when a secret is set, else as a public client (PKCE only).
 */
export class OidcClient {
  #cached: { key: string; config: Promise<oidc.Configuration> } | null = null;

  /** The provider's configuration; throws a user-facing CaretflowError when discovery fails. */
  async configuration(settings: Pick<SsoConfig, "issuer" | "clientId" | "clientSecret" | "updatedAt">): Promise<oidc.Configuration> {
    const key = `${settings.updatedAt}\n${settings.issuer}\n${settings.clientId}`;
    if (this.#cached?.key !== key) {
      const config = discover(settings);
      this.#cached = { key, config };
      // A failed discovery is tried again on the next sign-in rather than cached.
      config.catch(() => {
        if (this.#cached?.config === config) this.#cached = null;
      });
    }
    return await this.#cached.config;
  }

  /** Forgets the cached configuration (the settings changed). */
  reset(): void {
    this.#cached = null;
  }
}

/** Discovery for the settings, mapping failures to one clear CaretflowError. */
export async function discover(settings: Pick<SsoConfig, "issuer" | "clientId" | "clientSecret">): Promise<oidc.Configuration> {
  const issuer = checkIssuerUrl(settings.issuer);
  const auth = settings.clientSecret === null ? oidc.None() : oidc.ClientSecretBasic(settings.clientSecret);
  try {
    return await oidc.discovery(issuer, settings.clientId, undefined, auth, {
      timeout: PROVIDER_TIMEOUT_S,
      ...(insecureAllowed(issuer) ? { execute: [oidc.allowInsecureRequests] } : {}),
    });
  } catch (err) {
    throw new CaretflowError({
      code: "sso_discovery_failed",
      kind: "user",
      status: 400,
      message: `The identity provider at ${issuer.href} did not answer with an OpenID Connect discovery document: ${reason(err)}`,
      hint: `Check the issuer URL (caretflow reads ${new URL(".well-known/openid-configuration", issuer.href.endsWith("/") ? issuer.href : `${issuer.href}/`).href}) and that caretflow's machine can reach the provider.`,
      cause: err,
    });
  }
}

/** A short, secret-free reason for a failure talking to the provider. */
export function reason(err: unknown): string {
  if (!(err instanceof Error)) return String(err);
  const cause = err.cause instanceof Error ? err.cause : null;
  if (err.name === "TimeoutError" || err.name === "AbortError") return `no answer within ${PROVIDER_TIMEOUT_S} s`;
  if (err instanceof TypeError && cause) return (cause as NodeJS.ErrnoException).code ?? cause.message;
  return err.message.slice(0, 300);
}

/** True when the error is the network failing (the provider down or unreachable), not the provider answering. */
export function isUnreachable(err: unknown): boolean {
  if (!(err instanceof Error)) return false;
  return err.name === "TimeoutError" || err.name === "AbortError" || (err instanceof TypeError && err.message === "fetch failed");
}
