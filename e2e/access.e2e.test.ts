import { copyFile, mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { BrowserContext, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { expectAccessible } from "./a11y.ts";
import { openTaskBrowser, repo, type TaskBrowser } from "./harness.ts";

/**
 * Projects, members, users and passwords in a real browser: an admin makes a project and a user, adds the
 * user as a viewer, and the user signs in to see that project only, with a viewer's powers.
 */
let t: TaskBrowser;
let files: string;
let dana: { context: BrowserContext; page: Page } | null = null;
let danaPassword = "";

beforeAll(async () => {
  t = await openTaskBrowser("access");
  files = await mkdtemp(join(tmpdir(), "caretflow-e2e-access-files-"));
});
afterAll(async () => {
  await dana?.context.close();
  await t?.close();
  await rm(files, { recursive: true, force: true });
});

async function signIn(page: Page, username: string, password: string): Promise<void> {
  await page.goto("/signin");
  await page.getByLabel("Username").fill(username);
  await page.getByLabel("Password").fill(password);
  await page.getByRole("button", { name: "Sign in" }).click();
}

describe("projects and users in a real browser", () => {
  it("creates a project and works in it: the demo data stays in the default project", async () => {
    const { page } = t;
    await page.getByRole("link", { name: "Projects" }).click();
    await page.waitForURL(/\/projects$/);
    await page.getByTestId("create-project").getByLabel("Name").fill("churn");
    await page.getByTestId("create-project").getByLabel("Description").fill("churn models");
    await page.getByTestId("create-project").getByRole("button", { name: "Create" }).click();
    await expect.poll(() => page.getByTestId("project-switcher").inputValue()).toBe("churn");
    await page.getByTestId("projects-table").getByRole("link", { name: "churn" }).waitFor();
    await expectAccessible(page, "projects page");

    await page.getByRole("link", { name: "Data" }).click();
    const file = join(files, "churn-juice.csv");
    await copyFile(join(repo, "demo-data", "juice.csv"), file);
    // an empty project: the drop zone sits in the empty state once the list has loaded
    await page.getByText("No datasets yet").waitFor();
    await page.getByTestId("upload-input").setInputFiles(file);
    // the first import of a project opens the new dataset
    await page.waitForURL(/\/data\/churn-juice$/, { timeout: 60_000 });
    await page.getByRole("heading", { name: "churn-juice" }).waitFor();
    await page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "Data" }).click();
    await page.getByTestId("datasets-table").getByRole("link", { name: "churn-juice" }).waitFor();
    // the demo datasets belong to the default project, not this one
    expect(await page.getByTestId("datasets-table").getByRole("link", { name: "juice", exact: true }).count()).toBe(0);

    await page.getByTestId("project-switcher").selectOption("default");
    await page.getByTestId("datasets-table").getByRole("link", { name: "juice", exact: true }).waitFor();
    expect(await page.getByTestId("datasets-table").getByRole("link", { name: "churn-juice" }).count()).toBe(0);
    await page.getByTestId("project-switcher").selectOption("churn");
    await page.getByTestId("datasets-table").getByRole("link", { name: "churn-juice" }).waitFor();
  });

  it("creates a user whose generated password is shown once", async () => {
    const { page } = t;
    await page.getByRole("link", { name: "Users" }).click();
    await page.getByTestId("create-user").getByLabel("Username").fill("dana");
    await page.getByTestId("create-user").getByRole("button", { name: "Create" }).click();
    danaPassword = (await page.getByTestId("new-password").textContent()) ?? "";
    expect(danaPassword.length).toBeGreaterThanOrEqual(12);
    await page.getByTestId("users-table").getByRole("cell", { name: "dana", exact: true }).waitFor();
    await expectAccessible(page, "users page");
    // Shown once: after a reload the page no longer has it.
    await page.reload();
    await page.getByTestId("users-table").waitFor();
    expect(await page.getByTestId("new-password").count()).toBe(0);
  });

  it("adds the user to the project as a viewer", async () => {
    const { page } = t;
    await page.goto("/projects/churn");
    const form = page.getByTestId("add-member");
    await form.getByLabel("Username").fill("dana");
    await form.getByLabel("Role").selectOption("viewer");
    await form.getByRole("button", { name: "Add member" }).click();
    await expect.poll(() => page.getByLabel("Role of dana").inputValue()).toBe("viewer");
    // the owner sees the project's own changes: the import and the new member
    await page.getByRole("button", { name: "Refresh" }).click();
    await expect.poll(() => page.getByTestId("project-audit").textContent()).toMatch(/project\.member\.set.*user dana/);
    expect(await page.getByTestId("project-audit").textContent()).toMatch(/dataset\.import/);
    // an unknown user is refused with the server's message
    await form.getByLabel("Username").fill("nobody-here");
    await form.getByRole("button", { name: "Add member" }).click();
    await expect.poll(() => page.locator(".members-card .error-box").textContent()).toMatch(/user 'nobody-here' does not exist/);
  });

  it("the viewer sees only that project, without the admin's pages or an owner's controls", async () => {
    const context = await t.browser.newContext({ baseURL: t.cf.url, viewport: { width: 1366, height: 900 } });
    const page = await context.newPage();
    dana = { context, page };
    await signIn(page, "dana", danaPassword);
    await page.waitForURL(/\/data$/);
    // dana is not in the default project: the switcher moves to the one she is in
    await expect.poll(() => page.getByTestId("project-switcher").inputValue()).toBe("churn");
    await page.getByTestId("datasets-table").getByRole("link", { name: "churn-juice" }).waitFor();
    expect(await page.getByRole("link", { name: "Users" }).count()).toBe(0);
    await page.getByRole("link", { name: "Projects" }).click();
    await page.getByTestId("members-table").waitFor();
    expect(await page.getByTestId("add-member").count()).toBe(0);
    expect(await page.getByLabel("Role of dana").count()).toBe(0);
    await page.goto("/users");
    await page.getByText("Site admins only").waitFor();
    // MLflow's own UI is hers to read, limited to her project's experiments (none yet), and offered in the menu
    expect((await context.request.get("/mlflow/")).status()).toBe(200);
    const experiments = await context.request.post("/mlflow/ajax-api/2.0/mlflow/experiments/search", { data: { max_results: 100 } });
    expect(((await experiments.json()) as { experiments?: unknown[] }).experiments ?? []).toEqual([]);
    await page.getByRole("button", { name: /dana/ }).click();
    await page.getByRole("menuitem", { name: "MLflow UI" }).waitFor();
    await page.getByRole("button", { name: /dana/ }).click();
  });

  it("the viewer changes her password, then signs in with the new one", async () => {
    const page = dana!.page;
    await page.goto("/account");
    const form = page.getByTestId("change-password");
    await form.getByLabel("Current password").fill(danaPassword);
    await form.locator('input[name="next"]').fill("dana-chose-this-one");
    await form.getByLabel("New password again").fill("dana-chose-this-one");
    await form.getByRole("button", { name: "Change password" }).click();
    await page.getByTestId("password-changed").waitFor();
    await expectAccessible(page, "account page");
    await page.getByRole("button", { name: /dana/ }).click();
    await page.getByRole("menuitem", { name: "Sign out" }).click();
    await page.waitForURL(/\/signin/);
    await signIn(page, "dana", "dana-chose-this-one");
    await page.waitForURL(/\/data$/);
  });

  it("a disabled user is signed out at once", async () => {
    const { page } = t;
    await page.goto("/users");
    const row = page.getByTestId("users-table").getByRole("row", { name: /dana/ });
    await row.getByRole("button", { name: "Disable" }).click();
    await row.getByText("disabled").waitFor();
    await dana!.page.getByRole("link", { name: "Jobs" }).click();
    await dana!.page.waitForURL(/\/signin/, { timeout: 30_000 });
  });

  it("creates a read-only API token on the Account page, which reads but cannot write, and revokes it", async () => {
    const { page } = t;
    await page.goto("/account");
    const form = page.getByTestId("create-token");
    await form.getByLabel("Name").fill("e2e-reader");
    await form.getByLabel("Project").selectOption("churn");
    await form.getByLabel("Read-only").check();
    await form.getByRole("button", { name: "Create token" }).click();
    const token = (await page.getByTestId("new-token-value").textContent()) ?? "";
    expect(token).toMatch(/^cf_/);
    const row = page.getByTestId("tokens-table").getByRole("row", { name: /e2e-reader/ });
    await row.getByText("churn").waitFor();
    await row.getByText("read", { exact: true }).waitFor();
    await expectAccessible(page, "account page with API tokens");

    const headers = { authorization: `Bearer ${token}`, "x-caretflow-project": "churn" };
    const read = await page.context().request.get("/api/datasets", { headers });
    expect(read.status()).toBe(200);
    expect(JSON.stringify(await read.json())).toContain("churn-juice");
    const write = await page.context().request.post("/api/projects", { headers, data: { name: "by-token" } });
    expect(write.status()).toBe(403);
    expect(JSON.stringify(await write.json())).toContain("'e2e-reader' is read-only");
    // The list never shows the secret again.
    await page.reload();
    await page.getByTestId("tokens-table").waitFor();
    expect(await page.getByTestId("new-token-value").count()).toBe(0);
    expect(await page.content()).not.toContain(token);

    await page.getByTestId("tokens-table").getByRole("button", { name: "Revoke e2e-reader" }).click();
    await expect
      .poll(() =>
        page
          .getByTestId("tokens-table")
          .getByRole("row", { name: /e2e-reader/ })
          .count(),
      )
      .toBe(0);
    expect((await page.context().request.get("/api/datasets", { headers })).status()).toBe(401);
  });

  it("raised no uncaught errors in the page", () => {
    expect(t.pageErrors).toEqual([]);
  });
});
