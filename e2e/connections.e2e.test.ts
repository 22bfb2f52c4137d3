import type { BrowserContext, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type MariadbServer, startMariadb } from "../packages/connectors/test/mariadb.fixture.ts";
import { type PostgresServer, startPostgres } from "../packages/connectors/test/postgres.fixture.ts";
import { expectAccessible } from "./a11y.ts";
import { openTaskBrowser, type TaskBrowser } from "./harness.ts";

/**
 * The Connections page in a real browser against a real PostgreSQL: the admin (an owner of every project)
 * creates a connection with the password typed in the form, tests it, browses to a table, previews and
 * imports it, and imports a query; the owner edits a connection (another database) and creates a
 * MySQL/MariaDB connection against a real MariaDB; a viewer sees the list without the owner's or editor's buttons.
 */
const PASSWORD = "E2e-Conn-pw-4711";
let pg: PostgresServer;
let maria: MariadbServer;
let t: TaskBrowser;
let viewer: { context: BrowserContext; page: Page } | null = null;

beforeAll(async () => {
  pg = await startPostgres();
  await pg.sql("CREATE DATABASE crm");
  await pg.sql(
    `
    CREATE ROLE reader LOGIN PASSWORD '${PASSWORD}';
    CREATE TABLE public.customers (id integer, name text, joined date);
    INSERT INTO public.customers SELECT i, 'c' || i, date '2026-01-01' + i FROM generate_series(1, 12) AS i;
    GRANT SELECT ON public.customers TO reader;
    ANALYZE public.customers;
  `,
    [],
    "crm",
  );
  await pg.sql("CREATE DATABASE crm2");
  await pg.sql(
    `CREATE SCHEMA archive;
     CREATE TABLE archive.orders (id integer, total numeric);
     INSERT INTO archive.orders VALUES (1, 9.5), (2, 12);
     GRANT USAGE ON SCHEMA archive TO reader;
     GRANT SELECT ON archive.orders TO reader;
     ANALYZE archive.orders;`,
    [],
    "crm2",
  );
  maria = await startMariadb();
  await maria.sql(`
    CREATE DATABASE shop;
    CREATE TABLE shop.products (id INT PRIMARY KEY, title VARCHAR(40), price DECIMAL(8,2), listed TINYINT(1));
    INSERT INTO shop.products VALUES (1, 'lamp', 19.90, 1), (2, 'desk', 120.00, 0), (3, 'chair', 45.50, 1);
    ANALYZE TABLE shop.products;
    CREATE USER 'reader'@'%' IDENTIFIED BY '${PASSWORD}';
    GRANT SELECT ON shop.* TO 'reader'@'%';
  `);
  // the PostgreSQL server listens on loopback, which connections may reach only when allowed
  t = await openTaskBrowser("connections", { allowPrivateNetworks: true });
}, 300_000);

afterAll(async () => {
  await viewer?.context.close();
  await t?.close();
  await pg?.close();
  await maria?.close();
});

describe("connections in a real browser", () => {
  it("creates a connection from the form; the password never comes back to the page", async () => {
    const { page } = t;
    await page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "Connections" }).click();
    await page.waitForURL(/\/connections$/);
    await page.getByText("No connections yet").waitFor();
    await page.getByRole("button", { name: "New connection" }).click();
    const form = page.getByTestId("new-connection");
    await form.getByLabel("Name").fill("crm");
    await form.getByLabel("Hosts").fill(`${pg.host}:${pg.port}`);
    await form.getByLabel("Database").fill("crm");
    await form.getByLabel("User").fill("reader");
    const password = form.getByLabel("Password");
    expect(await password.getAttribute("type")).toBe("password");
    expect(await password.getAttribute("autocomplete")).toBe("new-password");
    await password.fill(PASSWORD);
    await form.getByRole("button", { name: "Save connection" }).click();

    const row = page.getByTestId("connections-table").getByRole("row", { name: /crm/ });
    await row.getByText(`reader@${pg.host}:${pg.port}/crm`).waitFor();
    await row.getByRole("cell", { name: "password", exact: true }).waitFor();
    expect(await page.getByTestId("new-connection").count()).toBe(0);
    // write-only: the owner may replace it, the field is empty and says one is stored
    const replace = page.getByTestId("replace-password").getByLabel("Replace the password");
    expect(await replace.inputValue()).toBe("");
    expect(await replace.getAttribute("placeholder")).toMatch(/a password is stored/);
    expect(await page.content()).not.toContain(PASSWORD);
    await page.reload();
    await page.getByTestId("connections-table").waitFor();
    expect(await page.content()).not.toContain(PASSWORD);
    expect(JSON.stringify(await (await t.context.request.get("/api/connections")).json())).not.toContain(PASSWORD);
    await expectAccessible(page, "connections page");
  });

  it("tests the connection: the host that answered and the server's version", async () => {
    const { page } = t;
    await page.getByTestId("connections-table").getByRole("button", { name: "Open" }).click();
    await page.getByRole("button", { name: "Test connection" }).click();
    await expect
      .poll(() => page.getByTestId("connection-test-ok").textContent())
      .toMatch(new RegExp(`^Reached ${pg.host}(:${pg.port})? — PostgreSQL \\d+`));
  });

  it("browses schema, table and columns, previews the table and imports it as a dataset", async () => {
    const { page } = t;
    const browse = page.getByTestId("browse");
    await browse.getByRole("button", { name: "public", exact: true }).click();
    await browse.getByRole("listitem").filter({ hasText: "customers" }).getByText("table, about 12 rows").waitFor();
    await browse.getByRole("button", { name: "customers", exact: true }).click();
    await browse.getByTestId("browse-list").getByText("joined").waitFor();
    await browse.getByRole("button", { name: "Preview" }).click();
    await expect.poll(() => page.getByTestId("connection-preview").locator("tbody tr").count()).toBe(12);
    expect(await page.getByTestId("connection-preview").locator("thead").textContent()).toBe("idnamejoined");
    const form = page.getByTestId("import-form");
    expect(await form.getByLabel("Dataset name").inputValue()).toBe("customers");
    expect(await form.getByLabel("Incremental column").locator("option").allTextContents()).toEqual([
      "none (import every row)",
      "id",
      "name",
      "joined",
    ]);
    await form.getByLabel("Incremental column").selectOption("id");
    await form.getByRole("button", { name: "Import" }).click();
    const link = page.getByTestId("import-done").getByRole("link", { name: "customers v1" });
    await link.waitFor({ timeout: 60_000 });
    expect(await page.getByTestId("import-done").textContent()).toContain("12 rows");
    await expectAccessible(page, "connections page, a table imported");
    await t.shot(page, "table-imported");
    await link.click();
    await page.waitForURL(/\/data\/customers\?v=1$/);
    await page.getByRole("heading", { name: "customers" }).waitFor();
    await page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "Data" }).click();
    await page.getByTestId("datasets-table").getByRole("link", { name: "customers", exact: true }).waitFor();
  });

  it("previews and imports one read-only query; a writing statement is refused with the server's message", async () => {
    const { page } = t;
    await page.goto("/connections");
    await page.getByTestId("connections-table").getByRole("button", { name: "Open" }).click();
    await page.getByRole("tab", { name: "Query" }).click();
    const q = page.getByTestId("query-source");
    await q.getByLabel("Query").fill("DELETE FROM public.customers");
    await q.getByRole("button", { name: "Use this query" }).click();
    await q.getByRole("button", { name: "Preview" }).click();
    await q.locator(".error-box").waitFor();
    expect(await q.locator(".error-box").textContent()).toMatch(/read-only|SELECT/i);

    await q.getByLabel("Query").fill("SELECT id, name FROM public.customers WHERE id <= 5");
    await q.getByRole("button", { name: "Use this query" }).click();
    await q.getByRole("button", { name: "Preview" }).click();
    await expect.poll(() => page.getByTestId("connection-preview").locator("tbody tr").count()).toBe(5);
    await q.getByLabel("Dataset name").fill("first-five");
    await q.getByRole("button", { name: "Import" }).click();
    await q.getByTestId("import-done").getByRole("link", { name: "first-five v1" }).waitFor({ timeout: 60_000 });
    expect(await q.getByTestId("import-done").textContent()).toContain("5 rows");
  });

  it("an owner edits a connection: another database, the password kept; browsing then shows the new database", async () => {
    const { page } = t;
    await page.goto("/connections");
    await page.getByTestId("connections-table").getByRole("row", { name: /crm/ }).getByRole("button", { name: "Edit" }).click();
    const form = page.getByTestId("edit-connection");
    expect(await form.getByLabel("Hosts").inputValue()).toBe(`${pg.host}:${pg.port}`);
    expect(await form.getByLabel("Database").inputValue()).toBe("crm");
    // write-only: the field is empty and says a password is stored; left empty, the stored one is kept
    const password = form.getByLabel("Password");
    expect(await password.inputValue()).toBe("");
    expect(await password.getAttribute("placeholder")).toMatch(/a password is stored/);
    await expectAccessible(page, "connections page, editing a connection");
    await form.getByLabel("Database").fill("crm2");
    await form.getByRole("button", { name: "Save changes" }).click();
    await page.getByTestId("connections-table").getByText(`reader@${pg.host}:${pg.port}/crm2`).waitFor();
    expect(await page.getByTestId("edit-connection").count()).toBe(0);
    const browse = page.getByTestId("browse");
    await browse.getByRole("button", { name: "archive", exact: true }).click();
    await browse.getByRole("listitem").filter({ hasText: "orders" }).getByText("table, about 2 rows").waitFor();
    expect(await page.content()).not.toContain(PASSWORD);
    const stored = (await (await t.context.request.get("/api/connections/crm")).json()) as {
      settings: { database: string };
      secretsSet: string[];
    };
    expect(stored.settings.database).toBe("crm2");
    expect(stored.secretsSet).toEqual(["password"]);
  });

  it("creates a MySQL/MariaDB connection in the form, tests it against a real MariaDB and previews a table", async () => {
    const { page } = t;
    await page.goto("/connections");
    await page.getByRole("button", { name: "New connection" }).click();
    const form = page.getByTestId("new-connection");
    await form.getByLabel("Name").fill("shop");
    await form.getByLabel("Type").selectOption("mysql");
    expect(await form.getByLabel("Hosts").getAttribute("placeholder")).toBe("db.example.com:3306");
    await form.getByLabel("Hosts").fill(`${maria.host}:${maria.port}`);
    await form.getByLabel("Database").fill("shop");
    await form.getByLabel("User").fill("reader");
    await form.getByLabel("Password").fill(PASSWORD);
    await form.getByRole("button", { name: "Save connection" }).click();
    const row = page.getByTestId("connections-table").getByRole("row", { name: /shop/ });
    await row.getByRole("cell", { name: "mysql", exact: true }).waitFor();
    await page.getByRole("heading", { name: "Connection shop" }).waitFor();
    await page.getByRole("button", { name: "Test connection" }).click();
    await expect.poll(() => page.getByTestId("connection-test-ok").textContent()).toMatch(/^Reached .* — .*MariaDB/);
    const browse = page.getByTestId("browse");
    await browse.getByRole("button", { name: "shop", exact: true }).click();
    await browse.getByRole("listitem").filter({ hasText: "products" }).getByText("table, about 3 rows").waitFor();
    await browse.getByRole("button", { name: "products", exact: true }).click();
    await browse.getByTestId("browse-list").getByText("decimal(8,2)").waitFor();
    await browse.getByRole("button", { name: "Preview" }).click();
    await expect.poll(() => page.getByTestId("connection-preview").locator("tbody tr").count()).toBe(3);
    expect(await page.content()).not.toContain(PASSWORD);
    await t.shot(page, "mariadb-preview");
  });

  it("shows the server's message and hint when a connection fails, takes a new password, and deletes it after a confirm", async () => {
    const { page } = t;
    const made = await t.context.request.post("/api/connections", {
      data: {
        name: "wrong-pw",
        type: "postgres",
        settings: { hosts: [{ host: pg.host, port: pg.port }], database: "crm", user: "reader" },
        secrets: { password: "not-the-password" },
      },
    });
    expect(made.status()).toBe(201);
    await page.goto("/connections");
    const row = page.getByTestId("connections-table").getByRole("row", { name: /wrong-pw/ });
    await row.getByRole("button", { name: "Open" }).click();
    await page.getByRole("heading", { name: "Connection wrong-pw" }).waitFor();
    await page.getByRole("button", { name: "Test connection" }).click();
    const error = page.getByRole("alert").filter({ hasText: "The connection failed" });
    await error.waitFor();
    expect(await error.textContent()).toMatch(/password|authentication/i);
    expect(await page.content()).not.toContain("not-the-password");
    await t.shot(page, "test-failed");

    // the owner puts the right password in (write-only), and the test then reaches the server
    const replace = page.getByTestId("replace-password");
    await replace.getByLabel("Replace the password").fill(PASSWORD);
    await replace.getByRole("button", { name: "Save password" }).click();
    await replace.getByText("Password saved.").waitFor();
    expect(await replace.getByLabel("Replace the password").inputValue()).toBe("");
    await page.getByRole("button", { name: "Test connection" }).click();
    await page.getByTestId("connection-test-ok").waitFor();
    expect(await page.content()).not.toContain(PASSWORD);

    page.once("dialog", (d) => void d.accept());
    await row.getByRole("button", { name: "Delete" }).click();
    await expect
      .poll(() =>
        page
          .getByTestId("connections-table")
          .getByRole("row", { name: /wrong-pw/ })
          .count(),
      )
      .toBe(0);
    await page.getByTestId("connections-table").getByRole("row", { name: /crm/ }).waitFor();
  });

  it("a viewer sees the list without New, Open or Delete, and the server refuses her a test", async () => {
    const created = await t.context.request.post("/api/users", { data: { username: "vera", admin: false } });
    const vera = (await created.json()) as { password: string };
    expect((await t.context.request.put("/api/projects/default/members/vera", { data: { role: "viewer" } })).status()).toBe(200);
    const context = await t.browser.newContext({ baseURL: t.cf.url, viewport: { width: 1366, height: 900 } });
    const page = await context.newPage();
    viewer = { context, page };
    await page.goto("/signin");
    await page.getByLabel("Username").fill("vera");
    await page.getByLabel("Password").fill(vera.password);
    await page.getByRole("button", { name: "Sign in" }).click();
    await page.waitForURL(/\/data$/);
    await page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "Connections" }).click();
    const row = page.getByTestId("connections-table").getByRole("row", { name: /crm/ });
    await row.getByText(`reader@${pg.host}:${pg.port}/crm`).waitFor();
    expect(await page.getByRole("button", { name: "New connection" }).count()).toBe(0);
    expect(await page.getByRole("button", { name: "Delete" }).count()).toBe(0);
    expect(await page.getByRole("button", { name: "Edit" }).count()).toBe(0);
    expect(await page.getByRole("button", { name: "Open" }).count()).toBe(0);
    expect(await page.content()).not.toContain(PASSWORD);
    await t.shot(page, "viewer");
    const refused = await context.request.post("/api/connections/crm/test");
    expect(refused.status()).toBe(403);
  });

  it("raised no uncaught errors in the page", () => {
    expect(t.pageErrors).toEqual([]);
  });
});
