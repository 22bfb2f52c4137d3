import { mkdtemp, readdir, rm, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { openStoreFixture, type StoreFixture } from "../../data/test/store.fixture.ts";
import {
  type AddressPolicy,
  isObjectStore,
  MAX_OBJECTS,
  type ObjectStoreConnector,
  objectsToRead,
  PUBLIC_ONLY,
  s3Type,
} from "../src/index.ts";
import { objectStoreContract } from "./contract.ts";
import { type MotoServer, startMoto } from "./moto.fixture.ts";

const LOOPBACK: AddressPolicy = { allowPrivateNetworks: true };
let moto: MotoServer;
let fx: StoreFixture;
let reader: { accessKeyId: string; secretAccessKey: string };
let nobody: { accessKeyId: string; secretAccessKey: string };

beforeAll(async () => {
  moto = await startMoto();
  fx = await openStoreFixture();
  await moto.createBucket("sales-data");
  await moto.put("sales-data", "2024/jan.csv", "id,name\n1,ann\n2,bob\n3,cy\n");
  await moto.put("sales-data", "2024/feb.csv", "id,name,region\n4,dee,north\n5,eve,south\n");
  await moto.put("sales-data", "2024/q2/apr.csv", "id,name\n6,fay\n");
  await moto.put("sales-data", "2024/readme.txt", "not data");
  await moto.put("sales-data", "mixed/a.csv", "id\n1\n");
  await moto.put("sales-data", "mixed/b.parquet", "PAR1");
  await moto.put("sales-data", "events/day1.ndjson", '{"id": 1, "kind": "click"}\n{"id": 2, "kind": "view"}\n');
  await moto.put("sales-data", "events/day2.ndjson", '{"id": 3, "kind": "click", "ms": 120}\n');
  await moto.put("sales-data", "bad/broken.csv", 'id,name\n1,"never closed\n');
  // One more than an import reads, to hit the cap.
  const many = Array.from({ length: MAX_OBJECTS + 1 }, (_, i) => `many/part-${String(i).padStart(4, "0")}.csv`);
  for (let i = 0; i < many.length; i += 50) await Promise.all(many.slice(i, i + 50).map((k) => moto.put("sales-data", k, "id\n1\n")));
  await moto.put(
    "sales-data",
    "big/large.csv",
    `id,pad\n${"1,xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx\n".repeat(600_000)}`,
  );
  reader = await moto.createUser("reader", true);
  nobody = await moto.createUser("nobody", false);
  await moto.enforceAuth();
}, 180_000);

afterAll(async () => {
  await fx?.close();
  await moto?.close();
});

function connector(
  opts: { bucket?: string; secret?: string; keyId?: string; policy?: AddressPolicy; endpoint?: string } = {},
): ObjectStoreConnector {
  const c = s3Type.create(
    {
      region: "us-east-1",
      endpoint: opts.endpoint ?? moto.endpoint,
      pathStyle: true,
      accessKeyId: opts.keyId ?? reader.accessKeyId,
      ...(opts.bucket ? { bucket: opts.bucket } : {}),
    },
    { secrets: { secretAccessKey: opts.secret ?? reader.secretAccessKey }, addressPolicy: opts.policy ?? LOOPBACK },
  );
  if (!isObjectStore(c)) throw new Error("the S3 connector is not an object store");
  return c;
}

async function failure(p: Promise<unknown>): Promise<{ code: string; message: string; hint?: string; status: number }> {
  try {
    await p;
  } catch (error) {
    return error as { code: string; message: string; hint?: string; status: number };
  }
  throw new Error("expected a failure");
}

objectStoreContract("s3", async () => ({
  connector: connector(),
  store: fx.store,
  fixtures: {
    folder: "sales-data/2024/",
    objectPath: "sales-data/2024/jan.csv",
    objectRows: 3,
    glob: "sales-data/2024/*.csv",
    globCount: 2,
    globRows: 5,
    extraColumn: "region",
    mixedGlob: "sales-data/mixed/*",
    emptyGlob: "sales-data/2025/*.csv",
    missingObject: "sales-data/2024/dec.csv",
    missingBucketObject: "no-such-bucket/2024/jan.csv",
    wrongCredentials: () => connector({ secret: "wrong-secret-value-123" }),
    secrets: [reader.secretAccessKey, "wrong-secret-value-123"],
  },
}));

describe("s3 connector", () => {
  it("browses buckets, then one folder level at a time (prefixes and objects)", async () => {
    const c = connector();
    try {
      expect(await c.discover()).toContainEqual({ name: "sales-data", path: "sales-data/", kind: "container" });
      const top = await c.discover("sales-data/");
      expect(top.filter((n) => n.kind === "prefix").map((n) => n.path)).toEqual(
        expect.arrayContaining(["sales-data/2024/", "sales-data/mixed/", "sales-data/events/"]),
      );
      const year = await c.discover("sales-data/2024");
      expect(year.map((n) => [n.kind, n.name])).toEqual(
        expect.arrayContaining([
          ["prefix", "q2/"],
          ["object", "jan.csv"],
          ["object", "readme.txt"],
        ]),
      );
    } finally {
      await c.close();
    }
  });

  it("with a bucket in the settings, paths are keys in it; ** crosses folders", async () => {
    const c = connector({ bucket: "sales-data" });
    try {
      expect((await c.discover()).map((n) => n.path)).toContain("2024/");
      const m = await c.match("2024/**/*.csv");
      expect(m.objects.map((o) => o.key)).toEqual(["2024/feb.csv", "2024/jan.csv", "2024/q2/apr.csv"]);
      const r = await fx.store.importObjects({
        name: "all-2024",
        format: m.format,
        objects: objectsToRead(c, m.objects),
        source: { kind: "connection", connection: "s3", object: "2024/**/*.csv", objectCount: 3 },
      });
      expect(r.version.rowCount).toBe(6);
    } finally {
      await c.close();
    }
  });

  it("reads NDJSON objects, unioning their keys", async () => {
    const c = connector({ bucket: "sales-data" });
    try {
      const m = await c.match("events/*.ndjson");
      expect(m.format).toBe("ndjson");
      const r = await fx.store.importObjects({
        name: "events",
        format: m.format,
        objects: objectsToRead(c, m.objects),
        source: { kind: "connection", connection: "s3", object: "events/*.ndjson", objectCount: 2 },
      });
      expect(r.version.rowCount).toBe(3);
      expect(r.version.columns.map((col) => col.name).sort()).toEqual(["id", "kind", "ms"]);
    } finally {
      await c.close();
    }
  });

  it("a glob over objects of an unknown format says which key, and a broken object's error names it", async () => {
    const c = connector({ bucket: "sales-data" });
    try {
      const unknown = await failure(c.match("2024/*"));
      expect(unknown.code).toBe("unsupported_object_format");
      expect(unknown.message).toContain("2024/readme.txt");
      const m = await c.match("bad/broken.csv");
      const broken = await failure(
        fx.store.importObjects({ name: "broken", format: m.format, objects: objectsToRead(c, m.objects), source: { kind: "connection" } }),
      );
      expect(broken.code).toBe("invalid_csv");
      expect(broken.message).toMatch(/^Object 'bad\/broken.csv': line 2 starts a quoted value/);
      await expect(fx.store.get("broken")).rejects.toThrow();
    } finally {
      await c.close();
    }
  });

  it("aborting the signal stops a download in flight and removes the partial file", async () => {
    const c = connector({ bucket: "sales-data" });
    const dir = await mkdtemp(join(tmpdir(), "caretflow-s3-abort-"));
    try {
      const [object] = (await c.match("big/large.csv")).objects;
      const file = join(dir, "large.csv");
      const controller = new AbortController();
      const download = c.download(object!, file, controller.signal);
      // Abort once the first bytes are on disk, before the object (about 45 MB) is complete.
      for (let i = 0; i < 2000 && ((await stat(file).catch(() => null))?.size ?? 0) === 0; i++) await new Promise((r) => setTimeout(r, 2));
      const partial = (await stat(file)).size;
      expect(partial).toBeLessThan(object!.size);
      controller.abort(new Error("stopped by the test"));
      await expect(download).rejects.toThrow("stopped by the test");
      expect(await readdir(dir)).toEqual([]);
    } finally {
      await c.close();
      await rm(dir, { recursive: true, force: true });
    }
  });

  it("refuses a glob that matches more objects than one import reads, naming the cap", async () => {
    const c = connector({ bucket: "sales-data" });
    try {
      const e = await failure(c.match("many/*.csv"));
      expect(e.code).toBe("too_many_objects");
      expect(e.message).toBe(`'many/*.csv' matches more than ${MAX_OBJECTS} objects; one import reads at most ${MAX_OBJECTS}`);
      expect((await c.match("many/part-000?.csv")).objects).toHaveLength(10);
    } finally {
      await c.close();
    }
  });

  it("an unknown key id is refused as wrong credentials; a key without permission gets its own code", async () => {
    const unknown = connector({ keyId: "AKIANOTAKEY000000000", secret: "whatever-secret" });
    const denied = connector({ keyId: nobody.accessKeyId, secret: nobody.secretAccessKey });
    try {
      const e1 = await failure(unknown.test());
      expect(e1.code).toBe("connection_auth_failed");
      const e2 = await failure(denied.match("sales-data/2024/jan.csv"));
      expect(e2.code).toBe("source_permission_denied");
      expect(`${e2.message} ${e2.hint}`).not.toContain(nobody.secretAccessKey);
    } finally {
      await unknown.close();
      await denied.close();
    }
  });

  it("refuses a loopback endpoint unless private networks are allowed, and plain http to a public address", async () => {
    const local = connector({ policy: PUBLIC_ONLY });
    const plain = connector({ endpoint: "http://8.8.8.8:9000" });
    try {
      expect((await failure(local.test())).code).toBe("address_refused");
      expect((await failure(plain.test())).code).toBe("endpoint_not_https");
    } finally {
      await local.close();
      await plain.close();
    }
  });

  it("an unreachable endpoint is reported as unreachable", async () => {
    const c = connector({ endpoint: "http://127.0.0.1:9" });
    try {
      const e = await failure(c.test());
      expect(e.code).toBe("connection_unreachable");
    } finally {
      await c.close();
    }
  });

  it("refuses tables, queries and incremental reads", async () => {
    const c = connector();
    try {
      expect((await failure(c.preview({ table: "t" }, 1))).code).toBe("object_source_required");
      expect(() => c.readIncremental({ object: "x" }, "id", null)).toThrow(/no incremental import/);
    } finally {
      await c.close();
    }
  });
});
