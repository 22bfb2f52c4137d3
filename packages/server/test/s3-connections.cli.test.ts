import { readdir } from "node:fs/promises";
import { join } from "node:path";
import { PROJECT_HEADER } from "@caretflow/contracts";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type MotoServer, startMoto } from "../../connectors/test/moto.fixture.ts";
import { servedCli } from "./cli.fixture.ts";

/** `caretflow connections create --type s3`, browse, preview and `datasets import --object` against the real app and moto's S3 server. */
let moto: MotoServer;
let s: Awaited<ReturnType<typeof servedCli>>;
let key: { accessKeyId: string; secretAccessKey: string };

beforeAll(async () => {
  moto = await startMoto();
  await moto.createBucket("lake");
  await moto.put("lake", "sales/2024-01.csv", "id,amount\n1,10.5\n2,20\n");
  await moto.put("lake", "sales/2024-02.csv", "id,amount,store\n3,7.25,north\n");
  await moto.put("lake", "sales/2023-12.csv", "id,amount\n0,1\n");
  key = await moto.createUser("caretflow", true);
  await moto.enforceAuth();
  s = await servedCli();
}, 180_000);

afterAll(async () => {
  await s?.close();
  await moto?.close();
});

async function api(method: string, path: string, body?: unknown) {
  const cookie = await s.f.login();
  const res = await s.f.app.request(`/api/connections${path}`, {
    method,
    headers: { cookie, [PROJECT_HEADER]: "default", ...(body === undefined ? {} : { "content-type": "application/json" }) },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const text = await res.text();
  // biome-ignore lint/suspicious/noExplicitAny: answers are read field by field
  return { status: res.status, text, json: JSON.parse(text) as any };
}

describe("caretflow connections with S3", () => {
  it("creates a connection with the secret from stdin, browses, and imports an object and a glob as one version each", async () => {
    const created = await s.cli(
      [
        "connections",
        "create",
        "lake",
        "--type",
        "s3",
        "--endpoint",
        moto.endpoint,
        "--path-style",
        "--access-key-id",
        key.accessKeyId,
        "--secret-stdin",
      ],
      {},
      `${key.secretAccessKey}\n`,
    );
    expect(created.stderr).toBe("");
    expect(created.code).toBe(0);
    expect(created.stdout).toContain(`created connection lake (s3, ${moto.endpoint})`);
    expect(created.stdout).not.toContain(key.secretAccessKey);

    const listed = await s.cli(["connections", "list"]);
    expect(listed.stdout).toMatch(/lake\s+s3\s+.*secretAccessKey/);
    expect(listed.stdout).not.toContain(key.secretAccessKey);
    expect((await s.cli(["connections", "test", "lake"])).stdout).toContain("ok: 127.0.0.1");

    const buckets = await s.cli(["connections", "browse", "lake"]);
    expect(buckets.stdout).toMatch(/lake\s+container/);
    const folder = await s.cli(["connections", "browse", "lake", "lake/sales/"]);
    expect(folder.stdout).toMatch(/2024-01\.csv\s+object\s+\d+ bytes/);

    const one = await s.cli(["datasets", "import", "--connection", "lake", "--object", "lake/sales/2024-01.csv"]);
    expect(one.stderr).toBe("reading lake/sales/2024-01.csv from lake...\n");
    expect(one.stdout).toBe("2024-01: created version 1 (2 rows, 2 columns, from 1 object)\n");

    const glob = await s.cli(["datasets", "import", "--connection", "lake", "--object", "lake/sales/2024-*.csv", "--name", "sales"]);
    expect(glob.stdout).toBe("sales: created version 1 (3 rows, 3 columns, from 2 objects)\n");
    const detail = await s.f.app.request("/api/datasets/sales", { headers: { cookie: await s.f.login(), [PROJECT_HEADER]: "default" } });
    const body = (await detail.json()) as { owner?: string | null; versions: { source: unknown }[] };
    expect(body.versions[0]?.source).toEqual({
      kind: "connection",
      connection: "lake",
      object: "lake/sales/2024-*.csv",
      objectCount: 2,
      format: "csv",
    });
    // The user who imported it first owns it in the catalog.
    expect(body.owner).toBe("admin");

    // A glob names no dataset of its own.
    const unnamed = await s.cli(["datasets", "import", "--connection", "lake", "--object", "lake/sales/*.csv"]);
    expect(unnamed.code).not.toBe(0);
    expect(unnamed.stderr).toContain("Name the dataset this import makes");
    // Nothing left in the store's temporary folder.
    expect((await readdir(join(s.f.dir, "datasets", ".tmp"))).filter((e) => e !== "duckdb")).toEqual([]);
  });

  it("previews through the API, and answers missing objects and buckets with their own codes", async () => {
    const preview = await api("POST", "/lake/preview", { object: "lake/sales/2024-*.csv", limit: 5 });
    expect(preview.status).toBe(200);
    expect(preview.json.columns.map((c: { name: string }) => c.name)).toEqual(["id", "amount"]);
    expect(preview.json.rows).toEqual([
      [1, 10.5],
      [2, 20],
    ]);
    const missing = await api("POST", "/lake/import", { object: "lake/sales/2025-01.csv" });
    expect(missing.status).toBe(404);
    expect(missing.json.error.code).toBe("source_object_not_found");
    const bucket = await api("POST", "/lake/import", { object: "nope/sales/x.csv", name: "x" });
    expect(bucket.json.error.code).toBe("source_bucket_not_found");
    const both = await api("POST", "/lake/import", { object: "lake/sales/2024-01.csv", table: "t" });
    expect(both.status).toBe(400);
    const incremental = await api("POST", "/lake/import", { object: "lake/sales/2024-01.csv", incremental: "id" });
    expect(incremental.json.error.code).toBe("incremental_not_supported");
  });

  it("a wrong secret set with edit --secret-env is refused as wrong credentials, never echoed", async () => {
    const edited = await s.cli(["connections", "edit", "lake", "--secret-env", "S3_SECRET"], { S3_SECRET: "not-the-secret-42" });
    expect(edited.stdout).toBe("updated the secretAccessKey of connection lake\n");
    const tested = await s.cli(["connections", "test", "lake"]);
    expect(tested.code).not.toBe(0);
    expect(tested.stderr).toContain("S3 refused the credentials");
    expect(tested.stderr).not.toContain("not-the-secret-42");
    const asArgument = await s.cli(["connections", "create", "x", "--type", "s3", "--secret", "abc"]);
    expect(asArgument.code).not.toBe(0);
  });
});
