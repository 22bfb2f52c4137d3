import { describe, expect, it } from "vitest";
import { usernameFor } from "./oidc.users.ts";
import { localPath } from "./sso.service.ts";

describe("usernameFor", () => {
  const none = () => false;
  it.each([
    [{ preferred_username: "alice" }, "alice"],
    [{ preferred_username: "Jane Doe" }, "Jane-Doe"],
    [{ preferred_username: "  ", email: "j.doe@example.com" }, "j.doe"],
    [{ email: "x+tag@example.com" }, "x-tag"],
    [{ preferred_username: "Zoë Ångström" }, "Zoe-Angstrom"],
    [{ preferred_username: "__admin" }, "admin"],
    [{ preferred_username: "ユーザー" }, "user"],
    [{}, "user"],
    [{ preferred_username: 42 }, "user"],
    [{ preferred_username: "a".repeat(100) }, "a".repeat(60)],
  ])("%j -> %s", (claims, expected) => {
    expect(usernameFor(claims, none)).toBe(expected);
  });

  it("adds -2, -3, ... to a taken name", () => {
    const taken = new Set(["bob", "bob-2"]);
    expect(usernameFor({ preferred_username: "bob" }, (n) => taken.has(n))).toBe("bob-3");
  });
});

describe("localPath", () => {
  it.each([
    [undefined, null],
    ["/jobs?x=1", "/jobs?x=1"],
    ["//evil.example.com/x", null],
    ["/\\evil.example.com", null],
    ["https://evil.example.com", null],
    ["jobs", null],
    ["/\t/evil.example.com", null],
    ["/ok\n/x", null],
    ["/a\\b", null],
    ["/runs/abc%2Fdef", "/runs/abc%2Fdef"],
    [`/${"a".repeat(600)}`, null],
  ])("%s -> %s", (next, expected) => {
    expect(localPath(next)).toBe(expected);
  });
});
