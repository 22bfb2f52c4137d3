import { randomUUID } from "node:crypto";
import { mkdtemp, readdir, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { GetObjectCommand, ListObjectsV2Command, S3Client } from "@aws-sdk/client-s3";
import { type CaretflowError, storageConfig } from "@caretflow/contracts";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { type MotoServer, startMoto } from "../../connectors/test/moto.fixture.ts";
import { type BlobStore, DatasetStore, S3BlobStore } from "../src/index.ts";
import { openStoreFixture, type StoreFixture } from "./store.fixture.ts";

/** DatasetStore with shared storage: moto's real S3 server, the SQLite metadata database of the store fixture. */
let moto: MotoServer;
let admin: S3Client;
const BUCKET = "caretflow-shared";

beforeAll(async () => {
  moto = await startMoto();
  await moto.createBucket(BUCKET);
  // The AWS chain reads these, as it would on a server (moto accepts any key until its auth is switched on).
  process.env.AWS_ACCESS_KEY_ID = "test-key";
  process.env.AWS_SECRET_ACCESS_KEY = "test-secret";
  process.env.AWS_REGION = "us-east-1";
  admin = new S3Client({
    region: "us-east-1",
    endpoint: moto.endpoint,
    forcePathStyle: true,
    credentials: { accessKeyId: "admin", secretAccessKey: "admin" },
  });
}, 120_000);

afterAll(async () => {
  admin?.destroy();
  await moto?.close();
});

/** A blob store that counts its downloads. */
class CountingBlobs implements BlobStore {
  gets = 0;
  constructor(readonly inner: S3BlobStore) {}
  get location() {
    return this.inner.location;
  }
  put(key: string, file: string) {
    return this.inner.put(key, file);
  }
  get(key: string, file: string) {
    this.gets++;
    return this.inner.get(key, file);
  }
  has(key: string) {
    return this.inner.has(key);
  }
  close() {
    this.inner.close();
  }
}

function blobs(url: string): CountingBlobs {
  return new CountingBlobs(new S3BlobStore(storageConfig(url, { CARETFLOW_S3_ENDPOINT_URL: moto.endpoint, AWS_REGION: "us-east-1" })!));
}

async function keys(prefix: string): Promise<string[]> {
  const out = await admin.send(new ListObjectsV2Command({ Bucket: BUCKET, Prefix: prefix }));
  return (out.Contents ?? []).map((o) => o.Key!).sort();
}

let f: StoreFixture;
let prefix: string;
let shared: CountingBlobs;
let writer: DatasetStore;
const opened: DatasetStore[] = [];
const dirs: string[] = [];

/** Another machine: its own empty dataset folder, the same metadata database and storage. */
async function freshMachine(b: BlobStore = blobs(`s3://${BUCKET}/${prefix}`)): Promise<{ store: DatasetStore; root: string }> {
  const dir = await mkdtemp(join(tmpdir(), "caretflow-machine-"));
  dirs.push(dir);
  const root = join(dir, "datasets");
  const store = await DatasetStore.open({ root, db: f.db, threads: 1, blobs: b });
  opened.push(store);
  return { store, root };
}

async function csv(name: string, text: string): Promise<string> {
  const path = join(f.dir, name);
  await writeFile(path, text);
  return path;
}

beforeEach(async () => {
  f = await openStoreFixture();
  prefix = `run-${randomUUID().slice(0, 8)}/caretflow`;
  shared = blobs(`s3://${BUCKET}/${prefix}`);
  writer = await DatasetStore.open({ root: join(f.dir, "writer"), db: f.db, threads: 1, blobs: shared });
  opened.push(writer);
});

afterEach(async () => {
  for (const s of opened.splice(0)) await s.close();
  for (const d of dirs.splice(0)) await rm(d, { recursive: true, force: true });
  await f.close();
});

describe("DatasetStore with shared storage (S3)", () => {
  it("uploads each new version under <prefix>/datasets/<name>/<content hash>.parquet before recording it", async () => {
    const first = await writer.importFile({ path: await csv("a.csv", "x,y\n1,2\n3,4\n"), name: "sales" });
    const second = await writer.importFile({ path: await csv("b.csv", "x,y\n1,2\n3,5\n"), name: "sales" });
    expect(first.created && second.created).toBe(true);
    expect(await keys(prefix)).toEqual(
      [
        `${prefix}/datasets/sales/${first.version.contentHash}.parquet`,
        `${prefix}/datasets/sales/${second.version.contentHash}.parquet`,
      ].sort(),
    );
    // The same content again stores nothing, here or there.
    const again = await writer.importFile({ path: await csv("c.csv", "x,y\n1,2\n3,5\n"), name: "sales" });
    expect(again.created).toBe(false);
    expect(await keys(prefix)).toHaveLength(2);
  });

  it("downloads a version missing locally once, checks it, and reads it like a local one", async () => {
    const imported = await writer.importFile({ path: await csv("a.csv", "id,name\n1,ann\n2,bob\n3,cy\n"), name: "people" });
    const { store, root } = await freshMachine();
    const counted = (store as unknown as { blobs: CountingBlobs }).blobs;
    // Concurrent reads of the same version: one download.
    const [a, b, page] = await Promise.all([
      store.getVersion("people", 1),
      store.getVersion("people"),
      store.preview("people", 1, { offset: 0, limit: 10 }),
    ]);
    expect(counted.gets).toBe(1);
    expect(a.path).toBe(join(root, "people", "v1.parquet"));
    expect(b.path).toBe(a.path);
    expect(page.rows).toEqual([
      [1, "ann"],
      [2, "bob"],
      [3, "cy"],
    ]);
    expect(a.contentHash).toBe(imported.version.contentHash);
    // Once here, it is read from the local file.
    await store.profile("people", 1);
    await store.columnFacts("people", 1, "name");
    expect(counted.gets).toBe(1);
    expect(await readdir(join(root, ".tmp")).then((e) => e.filter((x) => x !== "duckdb"))).toEqual([]);
  });

  it("downloads the versions a transform reads, and uploads its result", async () => {
    await writer.importFile({ path: await csv("a.csv", "k,v\n1,10\n2,20\n"), name: "t1" });
    const { store } = await freshMachine();
    const result = await store.runTransform({ sql: "SELECT k, v * 2 AS v2 FROM t1", name: "doubled" });
    expect(result.created).toBe(true);
    expect(await keys(`${prefix}/datasets/doubled/`)).toEqual([`${prefix}/datasets/doubled/${result.version.contentHash}.parquet`]);
    const { store: third } = await freshMachine();
    expect((await third.preview("doubled", 1, { offset: 0, limit: 5 })).rows).toEqual([
      [1, 20],
      [2, 40],
    ]);
  });

  it("refuses an object that does not hold the version: dataset_file_corrupt, and the file is not kept", async () => {
    const good = await writer.importFile({ path: await csv("a.csv", "x\n1\n2\n"), name: "d" });
    const other = await writer.importFile({ path: await csv("b.csv", "x\n1\n3\n"), name: "other" });
    const key = `${prefix}/datasets/d/${good.version.contentHash}.parquet`;
    // A valid Parquet file with other rows...
    const otherBody = await admin.send(
      new GetObjectCommand({ Bucket: BUCKET, Key: `${prefix}/datasets/other/${other.version.contentHash}.parquet` }),
    );
    await moto.put(BUCKET, key, await otherBody.Body!.transformToByteArray());
    const { store, root } = await freshMachine();
    const err = (await store.getVersion("d", 1).catch((e: unknown) => e)) as CaretflowError;
    expect(err.code).toBe("dataset_file_corrupt");
    expect(err.message).toMatch(
      /The file of 'd' version 1 in s3:\/\/caretflow-shared\/.* does not hold that version: its content hashes to/,
    );
    expect(err.hint).toMatch(/Restore it from a backup, or import the data again/);
    await expect(readdir(join(root, "d"))).rejects.toThrow(/ENOENT/);
    // ...and bytes that are no Parquet file at all.
    await moto.put(BUCKET, key, "not parquet");
    const again = (await store.preview("d", 1, { offset: 0, limit: 1 }).catch((e: unknown) => e)) as CaretflowError;
    expect(again.code).toBe("dataset_file_corrupt");
    expect(again.message).toMatch(/not a readable Parquet file/);
    expect(await readdir(join(root, ".tmp")).then((e) => e.filter((x) => x !== "duckdb"))).toEqual([]);
  });

  it("checks a version hashed by another DuckDB release by its rows and columns", async () => {
    const v = await writer.importFile({ path: await csv("a.csv", "x,y\n1,a\n2,b\n"), name: "older" });
    const other = await writer.importFile({ path: await csv("b.csv", "x,y\n1,a\n"), name: "shorter" });
    await f.db
      .updateTable("dataset_versions")
      .set({ content_hash_format: "caretflow-content-v2+duckdb-0.0.1" })
      .where("dataset", "=", "older")
      .execute();
    const { store } = await freshMachine();
    expect((await store.preview("older", 1, { offset: 0, limit: 5 })).rows).toEqual([
      [1, "a"],
      [2, "b"],
    ]);
    const shorter = await admin.send(
      new GetObjectCommand({ Bucket: BUCKET, Key: `${prefix}/datasets/shorter/${other.version.contentHash}.parquet` }),
    );
    await moto.put(BUCKET, `${prefix}/datasets/older/${v.version.contentHash}.parquet`, await shorter.Body!.transformToByteArray());
    const { store: another } = await freshMachine();
    const err = (await another.getVersion("older", 1).catch((e: unknown) => e)) as CaretflowError;
    expect(err.code).toBe("dataset_file_corrupt");
    expect(err.message).toMatch(/its rows or columns differ from the version's/);
  });

  it("fails a write whose upload fails, and stores nothing", async () => {
    const missing = blobs("s3://no-such-bucket-here/x");
    const store = await DatasetStore.open({ root: join(f.dir, "broken"), db: f.db, threads: 1, blobs: missing });
    opened.push(store);
    const err = (await store.importFile({ path: await csv("a.csv", "x\n1\n"), name: "lost" }).catch((e: unknown) => e)) as CaretflowError;
    expect(err.code).toBe("dataset_upload_failed");
    expect(err.message).toMatch(
      /The new version of 'lost' could not be stored in s3:\/\/no-such-bucket-here\/x; nothing was stored \(.*NoSuchBucket/,
    );
    expect(err.hint).toMatch(/bucket exists/);
    expect(err.message).not.toContain("test-secret");
    expect(await f.db.selectFrom("dataset_versions").selectAll().where("dataset", "=", "lost").execute()).toEqual([]);
    expect(await f.db.selectFrom("datasets").selectAll().where("name", "=", "lost").execute()).toEqual([]);
    await expect(readdir(join(f.dir, "broken", "lost"))).rejects.toThrow(/ENOENT/);
  });

  it("says which object is missing when a version was never uploaded, and uploads local versions on request", async () => {
    // A version stored before the store used shared storage.
    const local = await DatasetStore.open({ root: join(f.dir, "writer"), db: f.db, threads: 1 });
    opened.push(local);
    const v = await local.importFile({ path: await csv("a.csv", "x\n7\n"), name: "old" });
    const { store } = await freshMachine();
    const err = (await store.getVersion("old", 1).catch((e: unknown) => e)) as CaretflowError;
    expect(err.code).toBe("blob_not_found");
    expect(err.message).toContain(`s3://${BUCKET}/${prefix}/datasets/old/${v.version.contentHash}.parquet does not exist`);
    expect(await writer.uploadLocalVersions()).toBe(1);
    expect(await writer.uploadLocalVersions()).toBe(0);
    expect((await store.preview("old", 1, { offset: 0, limit: 1 })).rows).toEqual([[7]]);
  });
});
