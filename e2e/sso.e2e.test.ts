import { mkdtemp, readFile, rm, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type StartedCaretflow, startCaretflow } from "@caretflow/server";
import type { Browser } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestProvider } from "../packages/server/test/oidc-provider.fixture.ts";
import { expectAccessible } from "./a11y.ts";
import { ensureWebBuild, launchChromium, screenshotter } from "./browser.ts";
import { repo } from "./harness.ts";

/**
 * Single sign-on in real Chromium against a real OpenID Connect provider (oidc-provider): a site admin turns
 * it on from the Users page, then a new person clicks "Sign in with SSO", signs in on the provider's own
 * form and lands in caretflow signed in; cancelling at the provider comes back with a readable message.
 */
let cf: StartedCaretflow;
let idp: Awaited<ReturnType<typeof startTestProvider>>;
let browser: Browser;
let home: string;
let shot: Awaited<ReturnType<typeof screenshotter>>;

beforeAll(async () => {
  await ensureWebBuild(repo);
  shot = await screenshotter(join(repo, "test-artifacts", "screenshots-sso"));
  home = await mkdtemp(join(tmpdir(), "caretflow-e2e-sso-"));
  cf = await startCaretflow({ home, port: 0, waitForMlflow: false, log: () => {} });
  idp = await startTestProvider({ redirectUri: `${cf.url}/api/auth/oidc/callback` });
  browser = await launchChromium();
});
afterAll(async () => {
  await browser?.close();
  await idp?.close();
  await cf?.close();
  if (home) await rm(home, { recursive: true, force: true });
});

async function freshPage() {
  const context = await browser.newContext({ baseURL: cf.url, viewport: { width: 1280, height: 860 } });
  const page = await context.newPage();
  page.setDefaultTimeout(30_000);
  const errors: string[] = [];
  page.on("pageerror", (err) => errors.push(err.message));
  return { context, page, errors };
}

describe("single sign-on in a real browser", () => {
  it("a site admin turns it on from the Users page; the secret is never shown again", async () => {
    const { context, page, errors } = await freshPage();
    await page.goto("/signin");
    // Off: the sign-in page offers the password form only.
    await page.getByLabel("Password").waitFor();
    expect(await page.getByTestId("sso-signin").count()).toBe(0);
    await page.getByLabel("Password").fill(cf.adminPassword ?? "");
    await page.getByRole("button", { name: "Sign in" }).click();
    await page.waitForURL(/\/data$/);
    await page.getByRole("link", { name: "Users" }).click();
    const form = page.getByTestId("sso-form");
    await form.waitFor();
    expect(await page.getByTestId("sso-redirect-uri").textContent()).toBe(`${cf.url}/api/auth/oidc/callback`);
    await form.getByLabel("Issuer URL").fill(idp.issuer);
    await form.getByLabel("Client ID").fill(idp.client.clientId);
    await form.getByLabel("Client secret").fill(idp.client.clientSecret);
    await form.getByRole("button", { name: "Turn on" }).click();
    await form.getByRole("button", { name: "Save" }).waitFor();
    await page.getByText("Saved.").waitFor();
    expect(await form.getByLabel("Client secret").inputValue()).toBe("");
    expect(await form.getByLabel("Client secret").getAttribute("placeholder")).toMatch(/stored \(never shown\)/);
    expect(await page.content()).not.toContain(idp.client.clientSecret);
    // Sealed at rest under the home's key file (mode 600): the database files never hold the secret.
    expect((await stat(join(home, "secret.key"))).mode & 0o777).toBe(0o600);
    for (const file of ["caretflow.db", "caretflow.db-wal"]) {
      const bytes = await readFile(join(home, file)).catch(() => Buffer.alloc(0));
      expect(bytes.includes(Buffer.from(idp.client.clientSecret))).toBe(false);
    }
    await expectAccessible(page, "users page with single sign-on");
    await shot(page, "sso-settings");
    expect(errors).toEqual([]);
    await context.close();
  });

  it("a new person signs in with SSO on the provider's form and lands in caretflow signed in", async () => {
    const { context, page, errors } = await freshPage();
    await page.goto("/signin");
    await page.getByTestId("sso-signin").click();
    // The provider's own sign-in page.
    await page.waitForURL((u) => u.href.startsWith(idp.issuer), { waitUntil: "domcontentloaded" });
    await page.locator('input[name="login"]').fill("olivia");
    await page.locator('input[name="password"]').fill("anything");
    await shot(page, "provider-login");
    await page.getByRole("button", { name: "Sign-in" }).click();
    await page.getByRole("button", { name: "Continue" }).click();
    await page.waitForURL((u) => u.href.startsWith(cf.url) && u.pathname === "/data");
    const me = (await (await context.request.get("/api/auth/me")).json()) as { user: { username: string; role: string } };
    expect(me.user).toMatchObject({ username: "olivia", role: "user" });
    await page.getByText("olivia").first().waitFor();
    await shot(page, "signed-in-by-sso");
    expect(errors).toEqual([]);
    await context.close();
  });

  it("cancelling at the provider comes back to the sign-in page with a readable message", async () => {
    const { context, page } = await freshPage();
    await page.goto("/signin");
    await page.getByTestId("sso-signin").click();
    await page.waitForURL((u) => u.href.startsWith(idp.issuer), { waitUntil: "domcontentloaded" });
    await page.getByRole("link", { name: "[ Cancel ]" }).click();
    await page.waitForURL(/\/signin\?sso_error=access_denied/);
    expect(await page.getByTestId("sso-error").textContent()).toContain("cancelled or refused at the identity provider");
    expect((await context.request.get("/api/auth/me")).status()).toBe(401);
    await expectAccessible(page, "sign-in page with a single sign-on error");
    await shot(page, "sso-cancelled");
    await context.close();
  });
});
