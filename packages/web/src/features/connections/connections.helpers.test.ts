import {
  AzureSettings,
  CreateConnectionRequest,
  MysqlSettings,
  PostgresSettings,
  S3Settings,
  UpdateConnectionRequest,
} from "@caretflow/contracts";
import { describe, expect, it } from "vitest";
import {
  browseLevel,
  connectionAbilities,
  datasetNameForObject,
  datasetNameForTable,
  describeStore,
  describeWhere,
  editForm,
  isObjectStoreType,
  parseHosts,
  postgresRequest,
  type StoreForm,
  storeRequest,
  updateRequest,
} from "./connections.helpers.ts";

describe("connectionAbilities", () => {
  it("lets editors use connections, owners and site admins manage them, viewers only read", () => {
    expect(connectionAbilities("viewer", false)).toEqual({ use: false, own: false });
    expect(connectionAbilities("editor", false)).toEqual({ use: true, own: false });
    expect(connectionAbilities("owner", false)).toEqual({ use: true, own: true });
    expect(connectionAbilities(null, true)).toEqual({ use: true, own: true });
    expect(connectionAbilities(undefined, false)).toEqual({ use: false, own: false });
  });
});

describe("parseHosts", () => {
  it("reads host or host:port lines, skipping blank ones, with 5432 as the default port", () => {
    expect(parseHosts("db1.example.com:6543\n\n  10.0.0.5 \r\n")).toEqual({
      hosts: [
        { host: "db1.example.com", port: 6543 },
        { host: "10.0.0.5", port: 5432 },
      ],
    });
  });

  it("reads IPv6 addresses bare or in brackets with a port", () => {
    expect(parseHosts("::1\n[fe80::2]:5433")).toEqual({
      hosts: [
        { host: "::1", port: 5432 },
        { host: "fe80::2", port: 5433 },
      ],
    });
  });

  it("names the wrong line", () => {
    expect(parseHosts("db:http")).toEqual({ error: expect.stringContaining('"db:http"') });
    expect(parseHosts("db:70000")).toEqual({ error: expect.stringContaining("1 to 65535") });
    expect(parseHosts(":5432")).toEqual({ error: expect.stringContaining("not a host") });
    expect(parseHosts("  \n ")).toEqual({ error: expect.stringContaining("at least one host") });
  });
});

describe("postgresRequest", () => {
  const form = { name: " crm ", hosts: "127.0.0.1:1\nlocalhost:5432", database: "crm", user: "reader", password: "s3cret", ssl: true };

  it("makes a request the contract accepts, the password as the only secret", () => {
    const made = postgresRequest(form);
    if ("error" in made) throw new Error(made.error);
    const parsed = CreateConnectionRequest.parse(made.request);
    expect(parsed.name).toBe("crm");
    expect(parsed.secrets).toEqual({ password: "s3cret" });
    expect(PostgresSettings.parse(parsed.settings)).toEqual({
      hosts: [
        { host: "127.0.0.1", port: 1 },
        { host: "localhost", port: 5432 },
      ],
      database: "crm",
      user: "reader",
      ssl: true,
    });
  });

  it("sends no secret for an empty password, and passes on a hosts error", () => {
    const made = postgresRequest({ ...form, password: "" });
    expect("request" in made && made.request.secrets).toEqual({});
    expect(postgresRequest({ ...form, hosts: "" })).toEqual({ error: expect.any(String) });
  });
});

describe("MySQL connections and editing", () => {
  const form = { type: "mysql" as const, name: "shop", hosts: "db1\ndb2:3307", database: "shop", user: "reader", password: "", ssl: false };

  it("a mysql form defaults hosts to port 3306", () => {
    const made = postgresRequest(form);
    if ("error" in made) throw new Error(made.error);
    const parsed = CreateConnectionRequest.parse(made.request);
    expect(parsed.type).toBe("mysql");
    expect(MysqlSettings.parse(parsed.settings).hosts).toEqual([
      { host: "db1", port: 3306 },
      { host: "db2", port: 3307 },
    ]);
  });

  it("the edit form shows the stored settings and an empty password; an empty password keeps the stored one", () => {
    const stored = {
      name: "shop",
      type: "mysql" as const,
      project: "default",
      settings: {
        hosts: [
          { host: "db1", port: 3306 },
          { host: "::1", port: 3307 },
        ],
        database: "shop",
        user: "reader",
        ssl: true,
      },
      secretsSet: ["password"],
      createdAt: "2026-01-01T00:00:00Z",
      updatedAt: "2026-01-01T00:00:00Z",
    };
    const edit = editForm(stored);
    expect(edit).toEqual({
      type: "mysql",
      name: "shop",
      hosts: "db1:3306\n[::1]:3307",
      database: "shop",
      user: "reader",
      password: "",
      ssl: true,
    });
    const kept = updateRequest({ ...edit, database: "archive" });
    if ("error" in kept) throw new Error(kept.error);
    expect(UpdateConnectionRequest.parse(kept.request)).toEqual({
      settings: { hosts: stored.settings.hosts, database: "archive", user: "reader", ssl: true },
    });
    const replaced = updateRequest({ ...edit, password: "new-pw" });
    expect("request" in replaced && replaced.request.secrets).toEqual({ password: "new-pw" });
    expect(updateRequest({ ...edit, hosts: "" })).toEqual({ error: expect.any(String) });
  });
});

describe("describeWhere", () => {
  it("shows user, hosts, database and SSL in one line, and never a password", () => {
    const where = describeWhere({
      hosts: [
        { host: "a", port: 1 },
        { host: "::1", port: 5432 },
      ],
      database: "crm",
      user: "u",
      ssl: true,
    });
    expect(where).toBe("u@a:1, [::1]:5432/crm (SSL)");
    expect(describeWhere({})).toBe("—");
  });
});

describe("datasetNameForTable", () => {
  it("drops the schema and quotes and keeps a valid dataset name", () => {
    expect(datasetNameForTable("public.customers")).toBe("customers");
    expect(datasetNameForTable('sales."Order Lines"')).toBe("Order-Lines");
    expect(datasetNameForTable("public.__")).toBe("imported");
    expect(datasetNameForTable("`shop`.`order lines`")).toBe("order-lines");
  });
});

describe("browseLevel", () => {
  it("goes schemas, tables, columns", () => {
    expect(browseLevel([])).toBe("schemas");
    expect(browseLevel([{ name: "public", path: "public", kind: "schema" }])).toBe("tables");
    expect(
      browseLevel([
        { name: "public", path: "public", kind: "schema" },
        { name: "v", path: "public.v", kind: "view" },
      ]),
    ).toBe("columns");
  });
});

describe("object store forms", () => {
  const form: StoreForm = {
    name: " lake ",
    type: "s3",
    endpoint: "",
    bucket: " sales ",
    region: "",
    accessKeyId: "AKIAEXAMPLE",
    pathStyle: false,
    account: "",
    projectId: "",
    secret: "s3cret",
    sas: false,
  };

  it("builds each store's request, which the contracts accept, with the secret under its own field", () => {
    const s3 = storeRequest(form);
    expect(s3).toEqual({
      request: {
        name: "lake",
        type: "s3",
        settings: { region: "us-east-1", accessKeyId: "AKIAEXAMPLE", pathStyle: false, bucket: "sales" },
        secrets: { secretAccessKey: "s3cret" },
      },
    });
    expect(S3Settings.safeParse("request" in s3 ? s3.request.settings : null).success).toBe(true);
    const azure = storeRequest({ ...form, type: "azure", account: "acct1", sas: true, endpoint: "http://127.0.0.1:10000/acct1" });
    expect(azure).toMatchObject({
      request: {
        settings: { account: "acct1", container: "sales", endpoint: "http://127.0.0.1:10000/acct1" },
        secrets: { sasToken: "s3cret" },
      },
    });
    expect(AzureSettings.safeParse("request" in azure ? azure.request.settings : null).success).toBe(true);
    const gcs = storeRequest({ ...form, type: "gcs", projectId: "my-project", secret: ' {"a": 1}\n' });
    expect(gcs).toMatchObject({
      request: { settings: { projectId: "my-project", bucket: "sales" }, secrets: { serviceAccountKey: '{"a": 1}' } },
    });
    expect(CreateConnectionRequest.safeParse("request" in gcs ? gcs.request : null).success).toBe(true);
  });

  it("says which required field is missing", () => {
    expect(storeRequest({ ...form, accessKeyId: " " })).toEqual({ error: "give the access key id" });
    expect(storeRequest({ ...form, type: "azure" })).toEqual({ error: "give the storage account name" });
    expect(storeRequest({ ...form, type: "gcs" })).toEqual({ error: "give the Google Cloud project id" });
  });

  it("describes where a store reads, and suggests a dataset name for a key but not for a glob", () => {
    expect(describeStore("s3", { region: "eu-west-1", bucket: "sales" })).toBe("S3 eu-west-1 · sales");
    expect(describeStore("azure", { account: "acct", endpoint: "http://127.0.0.1:1/acct" })).toBe("http://127.0.0.1:1/acct");
    expect(datasetNameForObject("sales/2024/jan.csv")).toBe("jan");
    expect(datasetNameForObject("sales/2024-*.csv")).toBe("");
    expect(browseLevel([{ name: "b", path: "b/", kind: "container" }])).toBe("objects");
    expect(isObjectStoreType("gcs")).toBe(true);
    expect(isObjectStoreType("postgres")).toBe(false);
  });
});
