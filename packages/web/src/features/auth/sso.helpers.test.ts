import { SSO_ERRORS } from "@caretflow/contracts";
import { describe, expect, it } from "vitest";
import { ssoErrorMessage } from "./sso.helpers.ts";

describe("ssoErrorMessage", () => {
  it.each([
    [null, null],
    ["no_user", SSO_ERRORS.no_user],
    ["access_denied", SSO_ERRORS.access_denied],
    // Not a code: a generic message, never the text itself, nor a property every object has.
    ["<b>Your account is locked, call 555-0100</b>", "Single sign-on did not complete. Please try again."],
    ["constructor", "Single sign-on did not complete. Please try again."],
    ["__proto__", "Single sign-on did not complete. Please try again."],
  ])("%s", (code, expected) => {
    expect(ssoErrorMessage(code)).toBe(expected);
  });

  it("asks a person without a user to ask a site admin", () => {
    expect(SSO_ERRORS.no_user).toMatch(/ask a site admin to create your user/);
  });
});
