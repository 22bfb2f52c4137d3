import { SSO_ERRORS, type SsoErrorCode } from "@caretflow/contracts";

/**
 * The message for a single sign-on attempt that came back refused (`?sso_error=CODE`): the fixed text of a
 * known code, a generic one otherwise; never text taken from the URL itself.
 */
export function ssoErrorMessage(code: string | null): string | null {
  if (code === null) return null;
  return Object.hasOwn(SSO_ERRORS, code) ? SSO_ERRORS[code as SsoErrorCode] : "Single sign-on did not complete. Please try again.";
}
