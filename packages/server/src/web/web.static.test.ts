import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { appFixture } from "../../test/app.fixture.ts";

let f: Awaited<ReturnType<typeof appFixture>>;
let dist: string;
beforeAll(async () => {
  dist = await mkdtemp(join(tmpdir(), "caretflow-dist-"));
  await mkdir(join(dist, "assets"), { recursive: true });
  await writeFile(join(dist, "index.html"), "<!doctype html><title>caretflow ui</title>");
  await writeFile(join(dist, "assets", "app.js"), "console.log(1)");
  f = await appFixture({ webDist: dist });
});
afterAll(async () => {
  await f.close();
  await rm(dist, { recursive: true, force: true });
});

describe("web UI serving", () => {
  it("serves the built files without credentials", async () => {
    const js = await f.app.request("/assets/app.js");
    expect(js.status).toBe(200);
    expect(await js.text()).toBe("console.log(1)");
    expect(await (await f.app.request("/")).text()).toContain("caretflow ui");
  });

  it("falls back to index.html for client routes, never for the API or MLflow", async () => {
    const page = await f.app.request("/experiments/42");
    expect(page.status).toBe(200);
    expect(await page.text()).toContain("caretflow ui");
    expect((await f.app.request("/api/does-not-exist")).status).toBe(401);
    expect((await f.app.request("/mlflow/")).status).toBe(401);
  });

  it("does not serve files outside the build folder", async () => {
    const res = await f.app.request("/..%2f..%2fetc%2fpasswd");
    expect(await res.text()).not.toMatch(/root:/);
  });
});
