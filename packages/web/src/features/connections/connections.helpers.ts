import type { ConnectionSummary, CreateConnectionRequest, DiscoverNode, ProjectRole, UpdateConnectionRequest } from "@caretflow/contracts";

/** What the Connections page offers a person: the server checks every call again. */
export interface ConnectionAbilities {
  /** Test, browse, preview and import (editors and owners). */
  use: boolean;
  /** Create, change credentials, delete (owners). */
  own: boolean;
}

/** Editors use connections, owners manage them; a site admin holds every role in every project. */
export function connectionAbilities(role: ProjectRole | null | undefined, siteAdmin: boolean): ConnectionAbilities {
  if (siteAdmin) return { use: true, own: true };
  return { use: role === "editor" || role === "owner", own: role === "owner" };
}

export interface HostPort {
  host: string;
  port: number;
}

/** The database servers the form connects to, each with its usual port. */
export const SERVER_TYPES = { postgres: { label: "PostgreSQL", port: 5432 }, mysql: { label: "MySQL / MariaDB", port: 3306 } } as const;
export type ServerType = keyof typeof SERVER_TYPES;

/** Whether a connection type is a database server (hosts, database, user, password) the form can edit. */
export function isServerType(type: string): type is ServerType {
  return Object.hasOwn(SERVER_TYPES, type);
}

/**
 * The hosts of the form's text area, one `host[:port]` a line (`[::1]:5432` for an IPv6 address with a
 * port); blank lines are skipped, the port defaults to `defaultPort`. An error names the line that is wrong.
 */
export function parseHosts(text: string, defaultPort = 5432): { hosts: HostPort[] } | { error: string } {
  const hosts: HostPort[] = [];
  for (const raw of text.split(/\r?\n/)) {
    const line = raw.trim();
    if (!line) continue;
    let host = line;
    let port = String(defaultPort);
    const bracketed = /^\[([^\]]+)\](?::(.*))?$/.exec(line);
    if (bracketed) {
      host = bracketed[1] ?? "";
      port = bracketed[2] ?? port;
    } else if ((line.match(/:/g) ?? []).length === 1) {
      [host = "", port = ""] = line.split(":");
    }
    if (!host || /\s/.test(host)) return { error: `"${line}" is not a host: give host or host:port, one a line` };
    if (!/^\d{1,5}$/.test(port) || Number(port) < 1 || Number(port) > 65535)
      return { error: `"${line}": the port is a number from 1 to 65535` };
    hosts.push({ host, port: Number(port) });
  }
  if (hosts.length === 0) return { error: "give at least one host (host or host:port, one a line)" };
  return { hosts };
}

/** The form of a new database server connection (PostgreSQL unless `type` says otherwise), as typed. */
export interface PostgresForm {
  type?: ServerType;
  name: string;
  hosts: string;
  database: string;
  user: string;
  password: string;
  ssl: boolean;
}

/** The create request of a filled-in form, or what is wrong with it; an empty password is sent as no secret. */
export function postgresRequest(form: PostgresForm): { request: CreateConnectionRequest } | { error: string } {
  const type = form.type ?? "postgres";
  const parsed = parseHosts(form.hosts, SERVER_TYPES[type].port);
  if ("error" in parsed) return parsed;
  return {
    request: {
      name: form.name.trim(),
      type,
      settings: { hosts: parsed.hosts, database: form.database.trim(), user: form.user.trim(), ssl: form.ssl },
      secrets: form.password ? { password: form.password } : {},
    },
  };
}

/** The edit form of a stored server connection: its settings as typed, and an empty password (secrets are never shown). */
export function editForm(connection: ConnectionSummary): PostgresForm {
  const s = connection.settings;
  const hosts = Array.isArray(s.hosts) ? (s.hosts as Partial<HostPort>[]) : [];
  return {
    type: isServerType(connection.type) ? connection.type : "postgres",
    name: connection.name,
    hosts: hosts
      .filter((h) => typeof h?.host === "string")
      .map((h) => {
        const host = String(h.host).includes(":") ? `[${h.host}]` : String(h.host);
        return h.port ? `${host}:${h.port}` : host;
      })
      .join("\n"),
    database: typeof s.database === "string" ? s.database : "",
    user: typeof s.user === "string" ? s.user : "",
    password: "",
    ssl: s.ssl === true,
  };
}

/** The update request of an edited form: the settings, and the password only when one was typed (empty keeps the stored one). */
export function updateRequest(form: PostgresForm): { request: UpdateConnectionRequest } | { error: string } {
  const made = postgresRequest(form);
  if ("error" in made) return made;
  return {
    request: { settings: made.request.settings, ...(form.password ? { secrets: { password: form.password } } : {}) },
  };
}

/** Where a connection reads from, in one line: `user@host:port, host2:port/database` (or "—" when unknown). */
export function describeWhere(settings: Record<string, unknown>): string {
  const hosts = Array.isArray(settings.hosts) ? (settings.hosts as Partial<HostPort>[]) : [];
  const list = hosts
    .filter((h) => typeof h?.host === "string")
    .map((h) => {
      const host = String(h.host).includes(":") ? `[${h.host}]` : String(h.host);
      return h.port ? `${host}:${h.port}` : host;
    })
    .join(", ");
  if (!list) return "—";
  const user = typeof settings.user === "string" ? `${settings.user}@` : "";
  const db = typeof settings.database === "string" ? `/${settings.database}` : "";
  return `${user}${list}${db}${settings.ssl === true ? " (SSL)" : ""}`;
}

/** The dataset name an import suggests for a table: its own name without the schema, as a valid dataset name. */
export function datasetNameForTable(table: string): string {
  const last = table.split(".").pop() ?? "";
  const cleaned = last
    .replace(/["`]/g, "")
    .replace(/[^A-Za-z0-9_.-]+/g, "-")
    .replace(/^[^A-Za-z0-9]+/, "")
    .replace(/[-.]+$/, "")
    .slice(0, 64);
  return cleaned || "imported";
}

/** What a browse level lists, by the trail of entries opened so far (object stores: buckets, then a folder's objects). */
export function browseLevel(trail: readonly DiscoverNode[]): "schemas" | "tables" | "columns" | "objects" {
  const last = trail.at(-1);
  if (!last) return "schemas";
  if (last.kind === "container" || last.kind === "prefix") return "objects";
  return last.kind === "schema" ? "tables" : "columns";
}

/** The connection types that read objects from buckets (containers) rather than tables. */
export const OBJECT_STORE_TYPES = ["s3", "azure", "gcs"] as const;
export type ObjectStoreType = (typeof OBJECT_STORE_TYPES)[number];

export function isObjectStoreType(type: string): type is ObjectStoreType {
  return (OBJECT_STORE_TYPES as readonly string[]).includes(type);
}

/** The form of a new S3, Azure Blob or GCS connection, as typed (fields another type does not use are ignored). */
export interface StoreForm {
  name: string;
  type: ObjectStoreType;
  endpoint: string;
  /** S3, GCS: bucket; Azure: container. */
  bucket: string;
  region: string;
  accessKeyId: string;
  pathStyle: boolean;
  account: string;
  projectId: string;
  /** The secret: secret access key, account key or SAS token, service-account JSON key. */
  secret: string;
  /** Azure: the secret is a SAS token. */
  sas: boolean;
}

/** The secret field a store's secret is sent as. */
export function storeSecretField(type: ObjectStoreType, sas: boolean): string {
  if (type === "s3") return "secretAccessKey";
  if (type === "azure") return sas ? "sasToken" : "accountKey";
  return "serviceAccountKey";
}

/** The create request of a filled-in store form (empty optional fields left out; the server validates the rest). */
export function storeRequest(form: StoreForm): { request: CreateConnectionRequest } | { error: string } {
  const t = (v: string) => v.trim();
  const optional = (key: string, v: string) => (t(v) ? { [key]: t(v) } : {});
  let settings: Record<string, unknown>;
  if (form.type === "s3") {
    if (!t(form.accessKeyId)) return { error: "give the access key id" };
    settings = {
      region: t(form.region) || "us-east-1",
      accessKeyId: t(form.accessKeyId),
      pathStyle: form.pathStyle,
      ...optional("endpoint", form.endpoint),
      ...optional("bucket", form.bucket),
    };
  } else if (form.type === "azure") {
    if (!t(form.account)) return { error: "give the storage account name" };
    settings = { account: t(form.account), ...optional("endpoint", form.endpoint), ...optional("container", form.bucket) };
  } else {
    if (!t(form.projectId)) return { error: "give the Google Cloud project id" };
    settings = { projectId: t(form.projectId), ...optional("endpoint", form.endpoint), ...optional("bucket", form.bucket) };
  }
  const secret = form.type === "gcs" ? form.secret.trim() : form.secret;
  return {
    request: {
      name: form.name.trim(),
      type: form.type,
      settings,
      secrets: secret ? { [storeSecretField(form.type, form.sas)]: secret } : {},
    },
  };
}

/** Where an object store connection reads from, in one line: its endpoint (or region, account, project) and bucket. */
export function describeStore(type: ObjectStoreType, settings: Record<string, unknown>): string {
  const s = (k: string) => (typeof settings[k] === "string" ? (settings[k] as string) : undefined);
  const where =
    s("endpoint") ??
    (type === "s3" ? `S3 ${s("region") ?? ""}`.trim() : type === "azure" ? `account ${s("account")}` : `project ${s("projectId")}`);
  const bucket = s("bucket") ?? s("container");
  return bucket ? `${where} · ${bucket}` : where;
}

/** The dataset name an import suggests for an object key: its file name without extension; "" for a glob (the person names it). */
export function datasetNameForObject(key: string): string {
  if (/[*?]/.test(key)) return "";
  const base = (key.split("/").pop() ?? "").replace(/\.[^.]*$/, "");
  return datasetNameForTable(base);
}
