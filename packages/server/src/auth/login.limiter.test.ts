import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { appFixture } from "../../test/app.fixture.ts";
import { LoginLimiter } from "./login.limiter.ts";

// Small limits so a few attempts reach them: 3 per account and address, 5 per account, 5 per address.
let f: Awaited<ReturnType<typeof appFixture>>;
beforeAll(async () => {
  f = await appFixture({
    backoff: new LoginLimiter({
      perAccountAddress: { failures: 3, seconds: 600 },
      perAccount: { failures: 5, seconds: 600 },
      perAddress: { failures: 5, seconds: 600 },
    }),
  });
  for (const username of ["alice", "bob", "carol", "dave"]) await f.auth.createUser({ username, password: `${username}-password-1` });
});
afterAll(() => f.close());

/** A sign-in from the given client address (as the socket would report it). */
const login = (username: string, password: string, address: string) =>
  f.app.request(
    "/api/auth/login",
    { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ username, password }) },
    { incoming: { socket: { remoteAddress: address } } },
  );

async function expectLimited(res: Response, what: string) {
  expect(res.status).toBe(429);
  expect(Number(res.headers.get("retry-after"))).toBeGreaterThan(0);
  const body = ((await res.json()) as { error: { code: string; message: string; hint: string } }).error;
  expect(body.code).toBe("too_many_attempts");
  expect(body.message).toContain(what);
  expect(body.hint).toMatch(/Wait \d+ seconds/);
}

describe("login limits", () => {
  it("limits one account across addresses, even with the right password, and leaves other accounts alone", async () => {
    for (let i = 1; i <= 5; i++) expect((await login("alice", "wrong", `10.0.1.${i}`)).status).toBe(401);
    await expectLimited(await login("alice", "alice-password-1", "10.0.1.99"), "for this account");
    // Usernames are counted case-insensitively.
    await expectLimited(await login("ALICE", "alice-password-1", "10.0.1.98"), "for this account");
    expect((await login("bob", "bob-password-1", "10.0.1.99")).status).toBe(200);
  });

  it("limits one address across accounts; other addresses still sign in", async () => {
    for (let i = 1; i <= 5; i++) expect((await login(`nobody${i}`, "wrong", "10.0.2.1")).status).toBe(401);
    await expectLimited(await login("bob", "bob-password-1", "10.0.2.1"), "from this address");
    expect((await login("bob", "bob-password-1", "10.0.2.2")).status).toBe(200);
  });

  it("limits one account from one address first", async () => {
    for (let i = 0; i < 3; i++) expect((await login("carol", "wrong", "10.0.3.1")).status).toBe(401);
    await expectLimited(await login("carol", "carol-password-1", "10.0.3.1"), "for this account from this address");
    expect((await login("carol", "carol-password-1", "10.0.3.2")).status).toBe(200);
  });

  it("clears an account's failures on success", async () => {
    for (let i = 0; i < 2; i++) expect((await login("dave", "wrong", "10.0.4.1")).status).toBe(401);
    expect((await login("dave", "dave-password-1", "10.0.4.1")).status).toBe(200);
    // Without the reset the third failure would use up the per-account-and-address budget of 3.
    for (let i = 0; i < 2; i++) expect((await login("dave", "wrong", "10.0.4.1")).status).toBe(401);
    expect((await login("dave", "dave-password-1", "10.0.4.1")).status).toBe(200);
  });
});
