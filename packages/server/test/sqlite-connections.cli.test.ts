import { mkdtemp, readdir, readFile, rm, utimes, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { PROJECT_HEADER } from "@caretflow/contracts";
import Database from "better-sqlite3";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { servedCli } from "./cli.fixture.ts";

/** `caretflow connections create --type sqlite --file` (upload), browse and import, against the real app over a socket. */
let dir: string;
let s: Awaited<ReturnType<typeof servedCli>>;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "caretflow-sqlite-cli-"));
  const db = new Database(join(dir, "shop.db"));
  db.exec("CREATE TABLE orders (id INTEGER PRIMARY KEY, item TEXT, amount REAL)");
  const insert = db.prepare("INSERT INTO orders VALUES (?, ?, ?)");
  for (let i = 1; i <= 30; i++) insert.run(i, `item${i % 4}`, i * 1.5);
  db.close();
  await writeFile(join(dir, "fake.db"), "id,item\n1,a\n");
  s = await servedCli();
}, 120_000);

afterAll(async () => {
  await s?.close();
  await rm(dir, { recursive: true, force: true });
});

const stored = () => readdir(join(s.f.dir, "connection-files", "default")).catch(() => [] as string[]);

describe("caretflow connections with a SQLite file", () => {
  it("uploads the file, browses it, imports a table (then incrementally) and a query", async () => {
    const created = await s.cli(["connections", "create", "shop", "--type", "sqlite", "--file", join(dir, "shop.db")]);
    expect(created.stderr).toContain("uploading shop.db");
    expect(created.code).toBe(0);
    expect(created.stdout).toContain("created connection shop (sqlite, shop.db)");
    expect(await stored()).toHaveLength(1);

    const tested = await s.cli(["connections", "test", "shop"]);
    expect(tested.stdout).toMatch(/ok: .*\.sqlite answered \(SQLite 3\./);
    const browse = await s.cli(["connections", "browse", "shop", "main"]);
    expect(browse.stdout).toMatch(/orders\s+table\s+30/);
    const columns = await s.cli(["connections", "browse", "shop", "main.orders"]);
    expect(columns.stdout).toMatch(/amount\s+column\s+REAL/);

    const imported = await s.cli(["datasets", "import", "--connection", "shop", "--table", "orders", "--incremental", "id"]);
    expect(imported.stderr).toBe("reading orders from shop...\n");
    expect(imported.stdout).toContain("orders: created version 1 (30 rows, 3 columns); watermark id = 30");
    const db = new Database(join(dir, "shop.db"));
    db.prepare("INSERT INTO orders VALUES (31, 'late', 2.5)").run();
    db.close();
    // The server keeps its own copy: a change to the local file is not seen until it is uploaded again.
    const again = await s.cli(["datasets", "import", "--connection", "shop", "--table", "orders", "--incremental", "id"]);
    expect(again.stdout).toBe("orders: unchanged (no new rows; version 1)\n");

    const query = await s.cli([
      "datasets",
      "import",
      "--connection",
      "shop",
      "--query",
      "SELECT item, sum(amount) AS total FROM orders GROUP BY item",
      "--name",
      "totals",
    ]);
    expect(query.stdout).toContain("totals: created version 1 (4 rows, 2 columns)");
    const write = await s.cli(["datasets", "import", "--connection", "shop", "--query", "DELETE FROM orders", "--name", "nope"]);
    expect(write.code).not.toBe(0);
  });

  it("refuses a file that is not SQLite, and settings naming a path; delete removes the stored file", async () => {
    const fake = await s.cli(["connections", "create", "fake", "--type", "sqlite", "--file", join(dir, "fake.db")]);
    expect(fake.code).not.toBe(0);
    expect(fake.stderr).toContain("not a SQLite database");
    expect(await stored()).toHaveLength(1);

    const cookie = await s.f.login();
    const missing = await s.f.app.request("/api/connections", {
      method: "POST",
      headers: { cookie, [PROJECT_HEADER]: "default", "content-type": "application/json" },
      body: JSON.stringify({ name: "ghost", type: "sqlite", settings: { file: "0000.sqlite" } }),
    });
    expect(missing.status).toBe(404);
    expect(await missing.text()).toContain("not stored on this server");
    for (const file of ["../secret.key", "/etc/passwd", "default/../../secret.key"]) {
      const res = await s.f.app.request("/api/connections", {
        method: "POST",
        headers: { cookie, [PROJECT_HEADER]: "default", "content-type": "application/json" },
        body: JSON.stringify({ name: "sneaky", type: "sqlite", settings: { file } }),
      });
      expect(res.status).toBe(400);
    }

    const deleted = await s.cli(["connections", "delete", "shop"]);
    expect(deleted.code).toBe(0);
    expect(await stored()).toHaveLength(0);
  });

  it("removes an uploaded file that no connection uses: the one an edit replaced, and old uploads never used", async () => {
    const cookie = await s.f.login();
    const headers = { cookie, [PROJECT_HEADER]: "default" };
    const upload = async () => {
      const form = new FormData();
      form.append("file", new Blob([await readFile(join(dir, "shop.db"))]), "shop.db");
      const res = await s.f.app.request("/api/connections/files", { method: "POST", headers, body: form });
      expect(res.status).toBe(201);
      return ((await res.json()) as { file: string }).file;
    };
    const first = await upload();
    const created = await s.f.app.request("/api/connections", {
      method: "POST",
      headers: { ...headers, "content-type": "application/json" },
      body: JSON.stringify({ name: "shop2", type: "sqlite", settings: { file: first } }),
    });
    expect(created.status).toBe(201);
    // Pointed at a newer upload, the connection leaves its first file unused: it goes at once.
    const second = await upload();
    const edited = await s.f.app.request("/api/connections/shop2", {
      method: "PUT",
      headers: { ...headers, "content-type": "application/json" },
      body: JSON.stringify({ settings: { file: second } }),
    });
    expect(edited.status).toBe(200);
    expect((await stored()).sort()).toEqual([second]);

    // An upload whose connection was never created stays a day (its create may be on the way), then goes.
    const abandoned = await upload();
    expect(await s.f.connections.sweepUnusedFiles()).toBe(0);
    const old = new Date(Date.now() - 25 * 60 * 60 * 1000);
    for (const file of [abandoned, second]) await utimes(join(s.f.dir, "connection-files", "default", file), old, old);
    expect(await s.f.connections.sweepUnusedFiles()).toBe(1);
    expect(await stored()).toEqual([second]);
    expect((await s.cli(["connections", "test", "shop2"])).code).toBe(0);
  });
});
