import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type MotoServer, startMoto } from "../packages/connectors/test/moto.fixture.ts";
import { expectAccessible } from "./a11y.ts";
import { openTaskBrowser, type TaskBrowser } from "./harness.ts";

/**
 * An S3 connection on the Connections page in a real browser against moto's S3 server: the admin
 * creates it with the secret typed in the form, browses bucket and folder, previews and imports one
 * object, then imports a glob as one version.
 */
let moto: MotoServer;
let t: TaskBrowser;
let key: { accessKeyId: string; secretAccessKey: string };

beforeAll(async () => {
  moto = await startMoto();
  await moto.createBucket("lake");
  await moto.put("lake", "sales/2024-01.csv", "id,amount\n1,10.5\n2,20\n");
  await moto.put("lake", "sales/2024-02.csv", "id,amount,store\n3,7.25,north\n");
  key = await moto.createUser("web", true);
  await moto.enforceAuth();
  // moto listens on loopback, which connections may reach only when allowed
  t = await openTaskBrowser("object-stores", { allowPrivateNetworks: true });
}, 300_000);

afterAll(async () => {
  await t?.close();
  await moto?.close();
});

describe("object store connections in a real browser", () => {
  it("creates an S3 connection; the secret never comes back to the page", async () => {
    const { page } = t;
    await page.goto("/connections");
    await page.getByRole("button", { name: "New connection" }).click();
    const form = page.getByTestId("new-connection");
    await form.getByLabel("Name").fill("lake");
    await form.getByLabel("Type").selectOption("s3");
    await form.getByLabel("Access key id").fill(key.accessKeyId);
    await form.getByLabel("Endpoint (optional)").fill(moto.endpoint);
    await form.getByLabel("Path-style addressing (most S3-compatible stores)").check();
    const secret = form.getByLabel("Secret access key");
    expect(await secret.getAttribute("type")).toBe("password");
    await secret.fill(key.secretAccessKey);
    await form.getByRole("button", { name: "Save connection" }).click();
    const row = page.getByTestId("connections-table").getByRole("row", { name: /lake/ });
    await row.getByText(moto.endpoint).waitFor();
    await row.getByRole("cell", { name: "secretAccessKey", exact: true }).waitFor();
    expect(await page.content()).not.toContain(key.secretAccessKey);
    await expectAccessible(page, "connections page, an S3 connection");
  });

  it("browses the bucket and a folder, previews and imports one object", async () => {
    const { page } = t;
    const browse = page.getByTestId("browse");
    await browse.getByRole("button", { name: "lake", exact: true }).click();
    await browse.getByRole("button", { name: "sales/", exact: true }).click();
    await browse
      .getByRole("listitem")
      .filter({ hasText: "2024-01.csv" })
      .getByText(/\d+ bytes/)
      .waitFor();
    await browse.getByRole("button", { name: "2024-01.csv", exact: true }).click();
    await browse.getByRole("button", { name: "Preview" }).click();
    await expect.poll(() => page.getByTestId("connection-preview").locator("tbody tr").count()).toBe(2);
    const form = page.getByTestId("import-form");
    expect(await form.getByLabel("Dataset name").inputValue()).toBe("2024-01");
    expect(await form.getByLabel("Incremental column").count()).toBe(0);
    await form.getByRole("button", { name: "Import" }).click();
    await page.getByTestId("import-done").getByRole("link", { name: "2024-01 v1" }).waitFor({ timeout: 60_000 });
    expect(await page.getByTestId("import-done").textContent()).toContain("2 rows, from 1 object)");
  });

  it("imports a glob as one version, columns unioned by name", async () => {
    const { page } = t;
    await page.getByRole("tab", { name: "Key or glob" }).click();
    const o = page.getByTestId("object-source");
    await o.getByLabel("Object key or glob").fill("lake/sales/2024-*.csv");
    await o.getByRole("button", { name: "Use this key" }).click();
    await o.getByLabel("Dataset name").fill("sales");
    await o.getByRole("button", { name: "Import" }).click();
    await o.getByTestId("import-done").getByRole("link", { name: "sales v1" }).waitFor({ timeout: 60_000 });
    expect(await o.getByTestId("import-done").textContent()).toContain("3 rows, from 2 objects");
    await t.shot(page, "glob-imported");
    expect(t.pageErrors).toEqual([]);
  });
});
