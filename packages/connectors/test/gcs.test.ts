import { generateKeyPairSync } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { openStoreFixture, type StoreFixture } from "../../data/test/store.fixture.ts";
import { type AddressPolicy, gcsType, isObjectStore, type ObjectStoreConnector, objectsToRead, PUBLIC_ONLY } from "../src/index.ts";
import { objectStoreContract } from "./contract.ts";
import { type FakeGcsServer, startFakeGcs } from "./fake-gcs.fixture.ts";

const LOOPBACK: AddressPolicy = { allowPrivateNetworks: true };
const { privateKey } = generateKeyPairSync("rsa", { modulusLength: 2048 });
const PRIVATE_KEY = privateKey.export({ type: "pkcs8", format: "pem" }).toString();
const KEY = JSON.stringify({
  type: "service_account",
  client_email: "reader@my-project.iam.gserviceaccount.com",
  private_key: PRIVATE_KEY,
});
let gcs: FakeGcsServer;
let fx: StoreFixture;

beforeAll(async () => {
  gcs = await startFakeGcs({
    "sales-data/2024/jan.csv": "id,name\n1,ann\n2,bob\n3,cy\n",
    "sales-data/2024/feb.csv": "id,name,region\n4,dee,north\n5,eve,south\n",
    "sales-data/2024/q2/apr.csv": "id,name\n6,fay\n",
    "sales-data/mixed/a.csv": "id\n1\n",
    "sales-data/mixed/b.parquet": "PAR1",
    "events/day1.ndjson": '{"id": 1}\n{"id": 2}\n',
  });
  fx = await openStoreFixture();
}, 600_000);

afterAll(async () => {
  await fx?.close();
  await gcs?.close();
});

function connector(opts: { bucket?: string; key?: string; policy?: AddressPolicy } = {}): ObjectStoreConnector {
  const c = gcsType.create(
    { projectId: "my-project", endpoint: gcs.endpoint, ...(opts.bucket ? { bucket: opts.bucket } : {}) },
    { secrets: { serviceAccountKey: opts.key ?? KEY }, addressPolicy: opts.policy ?? LOOPBACK },
  );
  if (!isObjectStore(c)) throw new Error("the GCS connector is not an object store");
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

// fake-gcs-server accepts any request (an emulator checks no credentials), so the contract's
// wrong-credentials case has no emulator answer to test here; a malformed key is tested below.
objectStoreContract(
  "gcs",
  async () => ({
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
      secrets: [PRIVATE_KEY.split("\n")[1]!],
    },
  }),
  { checksCredentials: false },
);

describe("gcs connector", () => {
  it("with a bucket in the settings, paths are keys in it; ** crosses folders; NDJSON reads", async () => {
    const c = connector({ bucket: "sales-data" });
    try {
      expect((await c.discover()).map((n) => [n.kind, n.path])).toEqual(expect.arrayContaining([["prefix", "2024/"]]));
      const m = await c.match("**/*.csv");
      expect(m.objects.map((o) => o.key)).toEqual(["2024/feb.csv", "2024/jan.csv", "2024/q2/apr.csv", "mixed/a.csv"]);
    } finally {
      await c.close();
    }
    const events = connector({ bucket: "events" });
    try {
      const m = await events.match("day1.ndjson");
      const r = await fx.store.importObjects({
        name: "gcs-events",
        format: m.format,
        objects: objectsToRead(events, m.objects),
        source: { kind: "connection", connection: "gcs", object: "day1.ndjson", objectCount: 1 },
      });
      expect(r.version.rowCount).toBe(2);
    } finally {
      await events.close();
    }
  });

  it("refuses a key that is not a service-account JSON key without quoting it", () => {
    const error = (() => {
      try {
        connector({ key: "not json but secret-ish-text" });
      } catch (e) {
        return e as { code: string; message: string; hint?: string };
      }
      throw new Error("expected a failure");
    })();
    expect(error.code).toBe("invalid_connection_secret");
    expect(`${error.message} ${error.hint}`).not.toContain("secret-ish-text");
  });

  it("refuses a loopback endpoint unless private networks are allowed", async () => {
    const local = connector({ policy: PUBLIC_ONLY });
    try {
      expect((await failure(local.test())).code).toBe("address_refused");
    } finally {
      await local.close();
    }
  });
});
