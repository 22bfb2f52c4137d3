import {
  AccountSASPermissions,
  AccountSASResourceTypes,
  AccountSASServices,
  generateAccountSASQueryParameters,
  StorageSharedKeyCredential,
} from "@azure/storage-blob";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { openStoreFixture, type StoreFixture } from "../../data/test/store.fixture.ts";
import { type AddressPolicy, azureType, isObjectStore, type ObjectStoreConnector, objectsToRead, PUBLIC_ONLY } from "../src/index.ts";
import { AZURITE_ACCOUNT, AZURITE_KEY, type AzuriteServer, startAzurite } from "./azurite.fixture.ts";
import { objectStoreContract } from "./contract.ts";

const LOOPBACK: AddressPolicy = { allowPrivateNetworks: true };
const WRONG_KEY = Buffer.from("this is not the account key at all!").toString("base64");
let azurite: AzuriteServer;
let fx: StoreFixture;

beforeAll(async () => {
  azurite = await startAzurite();
  fx = await openStoreFixture();
  await azurite.put("sales-data", "2024/jan.csv", "id,name\n1,ann\n2,bob\n3,cy\n");
  await azurite.put("sales-data", "2024/feb.csv", "id,name,region\n4,dee,north\n5,eve,south\n");
  await azurite.put("sales-data", "2024/q2/apr.csv", "id,name\n6,fay\n");
  await azurite.put("sales-data", "mixed/a.csv", "id\n1\n");
  await azurite.put("sales-data", "mixed/b.parquet", "PAR1");
  await azurite.put("events", "day1.json", '[{"id": 1, "kind": "click"}, {"id": 2, "kind": "view"}]');
}, 180_000);

afterAll(async () => {
  await fx?.close();
  await azurite?.close();
});

function connector(opts: { container?: string; secrets?: Record<string, string>; policy?: AddressPolicy } = {}): ObjectStoreConnector {
  const c = azureType.create(
    { account: AZURITE_ACCOUNT, endpoint: azurite.endpoint, ...(opts.container ? { container: opts.container } : {}) },
    { secrets: opts.secrets ?? { accountKey: AZURITE_KEY }, addressPolicy: opts.policy ?? LOOPBACK },
  );
  if (!isObjectStore(c)) throw new Error("the Azure connector is not an object store");
  return c;
}

function sas(permissions: string): string {
  return generateAccountSASQueryParameters(
    {
      expiresOn: new Date(Date.now() + 3600_000),
      permissions: AccountSASPermissions.parse(permissions),
      resourceTypes: AccountSASResourceTypes.parse("sco").toString(),
      services: AccountSASServices.parse("b").toString(),
    },
    new StorageSharedKeyCredential(AZURITE_ACCOUNT, AZURITE_KEY),
  ).toString();
}

async function failure(p: Promise<unknown>): Promise<{ code: string; message: string; hint?: string; status: number }> {
  try {
    await p;
  } catch (error) {
    return error as { code: string; message: string; hint?: string; status: number };
  }
  throw new Error("expected a failure");
}

objectStoreContract("azure", async () => ({
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
    missingBucketObject: "no-such-container/2024/jan.csv",
    wrongCredentials: () => connector({ secrets: { accountKey: WRONG_KEY } }),
    secrets: [AZURITE_KEY, WRONG_KEY],
  },
}));

describe("azure connector", () => {
  it("with a container in the settings, paths are blob names in it; ** crosses folders; JSON arrays read", async () => {
    const c = connector({ container: "sales-data" });
    try {
      expect((await c.discover()).map((n) => [n.kind, n.path])).toEqual(
        expect.arrayContaining([
          ["prefix", "2024/"],
          ["prefix", "mixed/"],
        ]),
      );
      const m = await c.match("**/*.csv");
      expect(m.objects.map((o) => o.key)).toEqual(["2024/feb.csv", "2024/jan.csv", "2024/q2/apr.csv", "mixed/a.csv"]);
    } finally {
      await c.close();
    }
    const events = connector({ container: "events" });
    try {
      const m = await events.match("day1.json");
      const r = await fx.store.importObjects({
        name: "events",
        format: m.format,
        objects: objectsToRead(events, m.objects),
        source: { kind: "connection", connection: "azure", object: "day1.json", objectCount: 1 },
      });
      expect(r.version.rowCount).toBe(2);
      expect(r.version.source.format).toBe("json");
    } finally {
      await events.close();
    }
  });

  it("reads with a SAS token; a SAS without list permission gets its own code", async () => {
    const reader = connector({ secrets: { sasToken: `?${sas("rl")}` } });
    const noList = connector({ secrets: { sasToken: sas("r") } });
    try {
      expect((await reader.match("sales-data/2024/*.csv")).objects).toHaveLength(2);
      const denied = await failure(noList.match("sales-data/2024/*.csv"));
      expect(denied.code).toBe("source_permission_denied");
    } finally {
      await reader.close();
      await noList.close();
    }
  });

  it("needs an account key or a SAS token, and refuses a loopback endpoint unless private networks are allowed", async () => {
    expect(() => connector({ secrets: {} })).toThrow(/account key or a SAS token/);
    const local = connector({ policy: PUBLIC_ONLY });
    try {
      expect((await failure(local.test())).code).toBe("address_refused");
    } finally {
      await local.close();
    }
  });
});
