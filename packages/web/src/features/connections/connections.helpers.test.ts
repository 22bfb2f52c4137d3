import { CreateConnectionRequest, PostgresSettings } from "@caretflow/contracts";
import { describe, expect, it } from "vitest";
import {
  browseLevel,
  connectionAbilities,
  datasetNameForTable,
  describeWhere,
  parseHosts,
  postgresRequest,
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
