import { z } from "zod";
import { Handle, ProjectRoleSchema } from "./api.ts";

/** The single sign-on (OpenID Connect) configuration as a site admin sees it; the client secret is never returned. */
export const SsoSettings = z.object({
  enabled: z.boolean(),
  issuer: z.string().nullable().describe("the provider's issuer URL"),
  clientId: z.string().nullable(),
  clientSecretSet: z.boolean().describe("true when a client secret is stored (it is write-only)"),
  autoCreate: z.boolean().describe("create a caretflow user on a person's first sign-in"),
  defaultProject: z.string().nullable().describe("project a new user joins, with defaultRole"),
  defaultRole: ProjectRoleSchema,
  buttonLabel: z.string(),
  redirectUri: z.string().describe("register this redirect URI with the provider"),
  updatedAt: z.string().nullable(),
});
export type SsoSettings = z.infer<typeof SsoSettings>;

/** Turns single sign-on on with this provider. Leaving `clientSecret` out keeps the stored one (if any). */
export const SetSsoRequest = z.object({
  issuer: z
    .string()
    .max(500)
    .url("the issuer is a URL, e.g. https://login.example.com/realms/main")
    .refine((u) => /^https?:\/\//i.test(u), "the issuer is an http(s) URL"),
  clientId: z.string().min(1).max(500),
  clientSecret: z.string().min(1).max(2000).optional().describe("write-only; left out: keep the stored secret"),
  autoCreate: z.boolean().default(true),
  defaultProject: Handle.nullable().default(null),
  defaultRole: ProjectRoleSchema.default("viewer"),
  buttonLabel: z.string().min(1).max(60).default("Sign in with SSO"),
});
export type SetSsoRequest = z.infer<typeof SetSsoRequest>;

/** How one may sign in, for the sign-in page (public). */
export const AuthProviders = z.object({
  password: z.literal(true),
  sso: z.object({ enabled: z.boolean(), label: z.string(), startUrl: z.string() }),
});
export type AuthProviders = z.infer<typeof AuthProviders>;

/**
 * Why a single sign-on attempt ended back on the sign-in page: the callback redirects to
 * `/signin?sso_error=<code>` and the page shows the message (never text taken from the URL).
 */
export const SSO_ERRORS = {
  access_denied: "Single sign-on was cancelled or refused at the identity provider.",
  state_mismatch: "This sign-in attempt could not be verified (its state did not match). Please try again.",
  expired: "This sign-in attempt expired or was started in another browser. Please try again.",
  provider_error:
    "The identity provider could not complete the sign-in. Please try again, or ask a site admin to check the single sign-on settings.",
  unreachable: "The identity provider cannot be reached. Please try again later, or ask a site admin.",
  no_user: "You have no caretflow user yet: ask a site admin to create your user.",
  disabled: "Your caretflow user is disabled. Ask a site admin to enable it.",
  not_configured: "Single sign-on is not turned on. Sign in with your username and password.",
  busy: "Too many sign-ins are in progress. Please try again in a few minutes.",
} as const;
export type SsoErrorCode = keyof typeof SSO_ERRORS;

/** What rotating the server's secret key re-sealed (never a secret). */
export const SecretKeyRotation = z.object({
  resealed: z.number().int().describe("sealed values re-encrypted with the new key"),
  connections: z.number().int().describe("connections whose secrets were re-sealed"),
  ssoClientSecret: z.boolean().describe("true when the single sign-on client secret was re-sealed"),
  unreadable: z.array(z.string()).describe("purposes of stored values no key opens (left as they were: set them again)"),
});
export type SecretKeyRotation = z.infer<typeof SecretKeyRotation>;
