import { randomUUID } from "node:crypto";
import { chmod, mkdir, open, readdir, rename, rm, stat } from "node:fs/promises";
import { join } from "node:path";
import {
  type AddressPolicy,
  type Connector,
  connectorType,
  fileUnderRoot,
  isObjectStore,
  type ObjectStoreConnector,
  objectsToRead,
} from "@caretflow/connectors";
import {
  CaretflowError,
  type ConnectionImportRequest,
  type ConnectionPreview,
  type ConnectionSummary,
  type ConnectionTestResult,
  type ConnectorSource,
  type CreateConnectionRequest,
  DatasetName,
  type DiscoverNode,
  type ImportResult,
  notFound,
  type StoredConnectionFile,
  sourceOf,
  type UpdateConnectionRequest,
  userError,
} from "@caretflow/contracts";
import type { Kysely, Selectable } from "kysely";
import type { ServerTables } from "../db/server.tables.ts";
import type { DatasetsPort } from "../ports.ts";
import type { SecretBox } from "../secrets/secret-box.ts";

/** How old an uploaded SQLite file no connection uses must be before sweepUnusedFiles removes it. */
const UNUSED_FILE_AGE_MS = 24 * 60 * 60 * 1000;

type Row = Selectable<ServerTables["connections"]>;

/** What the service needs of the dataset store: reading versions and storing a batch stream. */
export type ConnectionDatasets = Pick<DatasetsPort, "getVersion" | "list" | "importBatches" | "importObjects" | "previewObjects">;

/**
 * Connections to outside sources, owned by a project. Settings are validated by the connector type's
 * schema; secret fields are sealed with SecretBox (purpose `connection.<id>.<field>`) and leave this
 * class only to the connector that uses them. One connector (and its pool) is kept per connection
 * until the connection changes.
 */
export class ConnectionService {
  readonly #db: Kysely<ServerTables>;
  readonly #secrets: SecretBox;
  readonly #policy: () => AddressPolicy;
  readonly #connectors = new Map<string, { stamp: string; connector: Connector }>();
  readonly #fileRoot: string | undefined;

  /** `fileRoot`: where SQLite files uploaded for connections are kept, one folder per project. */
  constructor(deps: { db: Kysely<ServerTables>; secrets: SecretBox; addressPolicy: () => AddressPolicy; fileRoot?: string }) {
    this.#db = deps.db;
    this.#secrets = deps.secrets;
    this.#policy = deps.addressPolicy;
    this.#fileRoot = deps.fileRoot;
  }

  /**
   * Keeps an uploaded SQLite database file (moved from `path`) in the project's folder of connection
   * files (mode 600) under a new name, for a sqlite connection's settings. A file that does not start
   * with SQLite 3's header is refused.
   */
  async storeFile(project: string, path: string): Promise<StoredConnectionFile> {
    if (!this.#fileRoot) throw userError("files_not_supported", "This server stores no connection files", "Use another source type.", 400);
    const header = Buffer.alloc(16);
    const handle = await open(path, "r");
    let bytes: number;
    try {
      await handle.read(header, 0, 16, 0);
      bytes = (await handle.stat()).size;
    } finally {
      await handle.close();
    }
    if (!header.equals(Buffer.from("SQLite format 3\0", "latin1")))
      throw userError(
        "sqlite_file_invalid",
        "The uploaded file is not a SQLite database",
        "Upload a .sqlite or .db file made by SQLite 3.",
        400,
      );
    const folder = join(this.#fileRoot, project);
    await mkdir(folder, { recursive: true, mode: 0o700 });
    const file = `${randomUUID()}.sqlite`;
    await chmod(path, 0o600);
    await rename(path, join(folder, file));
    return { file, bytes };
  }

  async list(project: string): Promise<ConnectionSummary[]> {
    const rows = await this.#db.selectFrom("connections").selectAll().where("project", "=", project).orderBy("name").execute();
    return rows.map(summaryOf);
  }

  async get(project: string, name: string): Promise<ConnectionSummary> {
    return summaryOf(await this.#row(project, name));
  }

  async create(project: string, req: CreateConnectionRequest, createdBy: string | null): Promise<ConnectionSummary> {
    const type = connectorType(req.type);
    const settings = parseSettings(type.settings, req.settings);
    // A sqlite connection names a file stored for this project (POST /api/connections/files).
    if (type.type === "sqlite") fileUnderRoot(join(this.#fileRoot ?? "/nonexistent", project), (settings as { file: string }).file);
    const id = randomUUID();
    const sealed = this.#sealAll(id, type.secrets, {}, req.secrets);
    const now = new Date().toISOString();
    const existing = await this.#db
      .selectFrom("connections")
      .select("id")
      .where("project", "=", project)
      .where("name", "=", req.name)
      .executeTakeFirst();
    if (existing)
      throw userError(
        "connection_exists",
        `A connection named '${req.name}' already exists in project ${project}`,
        "Choose another name, or edit that connection.",
        409,
      );
    await this.#db
      .insertInto("connections")
      .values({
        id,
        project,
        name: req.name,
        type: type.type,
        settings_json: JSON.stringify(settings),
        secrets_json: JSON.stringify(sealed),
        created_by: createdBy,
        created_at: now,
        updated_at: now,
      })
      .execute();
    return this.get(project, req.name);
  }

  /** New settings and/or secrets (a secret set to "" is removed). Returns the summaries before and after. */
  async update(
    project: string,
    name: string,
    req: UpdateConnectionRequest,
  ): Promise<{ before: ConnectionSummary; after: ConnectionSummary }> {
    const row = await this.#row(project, name);
    const type = connectorType(row.type);
    const settings = req.settings ? parseSettings(type.settings, req.settings) : JSON.parse(row.settings_json);
    const sealed = this.#sealAll(row.id, type.secrets, JSON.parse(row.secrets_json) as Record<string, string>, req.secrets ?? {});
    await this.#db
      .updateTable("connections")
      .set({ settings_json: JSON.stringify(settings), secrets_json: JSON.stringify(sealed), updated_at: new Date().toISOString() })
      .where("id", "=", row.id)
      .execute();
    await this.#forget(row.id);
    // A SQLite connection pointed at another uploaded file leaves the old one unused: remove it.
    const previous = row.type === "sqlite" ? (JSON.parse(row.settings_json) as { file?: string }).file : undefined;
    if (previous && this.#fileRoot && !(await this.#usesFile(project, previous)))
      await rm(join(this.#fileRoot, project, previous), { force: true });
    return { before: summaryOf(row), after: await this.get(project, name) };
  }

  /**
   * Remove uploaded SQLite files that no connection uses and that are older than `olderThanMs`: an upload
   * whose connection was never created (the create failed or was abandoned). Younger files may still be
   * waiting for their create. Returns how many were removed.
   */
  async sweepUnusedFiles(olderThanMs = UNUSED_FILE_AGE_MS): Promise<number> {
    const root = this.#fileRoot;
    if (!root) return 0;
    let removed = 0;
    for (const project of await readdir(root).catch(() => [] as string[])) {
      const folder = join(root, project);
      for (const file of await readdir(folder).catch(() => [] as string[])) {
        if (!file.endsWith(".sqlite")) continue;
        const info = await stat(join(folder, file)).catch(() => null);
        if (!info?.isFile() || Date.now() - info.mtimeMs < olderThanMs) continue;
        if (await this.#usesFile(project, file)) continue;
        await rm(join(folder, file), { force: true });
        removed++;
      }
    }
    return removed;
  }

  async remove(project: string, name: string): Promise<ConnectionSummary> {
    const row = await this.#row(project, name);
    await this.#db.deleteFrom("connections").where("id", "=", row.id).execute();
    await this.#forget(row.id);
    const file = row.type === "sqlite" ? (JSON.parse(row.settings_json) as { file?: string }).file : undefined;
    // The stored file goes with its connection, unless another connection of the project uses it too.
    if (file && this.#fileRoot && !(await this.#usesFile(project, file))) await rm(join(this.#fileRoot, project, file), { force: true });
    return summaryOf(row);
  }

  async test(project: string, name: string): Promise<ConnectionTestResult> {
    return (await this.#connector(project, name)).test();
  }

  async discover(project: string, name: string, path?: string): Promise<DiscoverNode[]> {
    return (await this.#connector(project, name)).discover(path);
  }

  async preview(
    project: string,
    name: string,
    source: ConnectorSource,
    limit: number,
    datasets: ConnectionDatasets,
  ): Promise<ConnectionPreview> {
    const connector = await this.#connector(project, name);
    if (!("object" in source)) return connector.preview(source, limit);
    // An object store's preview reads the first object the key or glob matches, as the import would.
    const store = objectStore(connector, name);
    const { objects, format } = await store.match(source.object);
    return datasets.previewObjects({ objects: objectsToRead(store, objects.slice(0, 1)), format, limit });
  }

  /**
   * Read a table or query into a dataset version. Incremental (`incremental` names the watermark
   * column): when the dataset's latest version came from this connection and source with that
   * watermark, only rows above it are read and appended as a new version; otherwise every row is read.
   */
  async importInto(
    project: string,
    name: string,
    req: ConnectionImportRequest,
    datasets: ConnectionDatasets,
    opts: { dataset: string; signal?: AbortSignal; owner?: string },
  ): Promise<ImportResult & { rowsRead: number }> {
    const connector = await this.#connector(project, name);
    const source = sourceOf(req);
    if ("object" in source) return this.#importObjects(objectStore(connector, name), name, source.object, req, datasets, opts);
    const lineage: { kind: "connection"; connection: string; table?: string; query?: string } = {
      kind: "connection",
      connection: name,
      ...source,
    };
    let appendTo: number | undefined;
    let after: string | null = null;
    if (req.incremental) {
      const latest = await datasets.getVersion(opts.dataset).catch(() => null);
      const s = latest?.source;
      if (
        latest &&
        s?.connection === name &&
        s.watermark?.column === req.incremental &&
        s.table === lineage.table &&
        s.query === lineage.query
      ) {
        appendTo = latest.version;
        after = s.watermark.value;
      }
    }
    const readOpts = opts.signal ? { signal: opts.signal } : {};
    const batches = req.incremental
      ? connector.readIncremental(source, req.incremental, after, readOpts)
      : connector.read(source, readOpts);
    return datasets.importBatches({
      name: opts.dataset,
      batches,
      source: lineage,
      ...(appendTo !== undefined ? { appendTo } : {}),
      ...(req.incremental ? { watermarkColumn: req.incremental } : {}),
      ...(opts.signal ? { signal: opts.signal } : {}),
      ...(opts.owner ? { owner: opts.owner } : {}),
    });
  }

  /** A key or glob of an object store as ONE dataset version (every matched object, unioned by column name). */
  async #importObjects(
    store: ObjectStoreConnector,
    name: string,
    object: string,
    req: ConnectionImportRequest,
    datasets: ConnectionDatasets,
    opts: { dataset: string; signal?: AbortSignal; owner?: string },
  ): Promise<ImportResult & { rowsRead: number }> {
    if (req.incremental) {
      throw userError(
        "incremental_not_supported",
        "Object store imports have no incremental mode",
        "Import the key or glob without --incremental; each import reads the matched objects whole.",
        400,
      );
    }
    const { objects, format } = await store.match(object, opts.signal);
    const result = await datasets.importObjects({
      name: opts.dataset,
      format,
      objects: objectsToRead(store, objects),
      source: { kind: "connection", connection: name, object, objectCount: objects.length },
      ...(opts.signal ? { signal: opts.signal } : {}),
      ...(opts.owner ? { owner: opts.owner } : {}),
    });
    return { ...result, rowsRead: result.version.rowCount };
  }

  /** Close every pooled connection. */
  async close(): Promise<void> {
    const all = [...this.#connectors.values()];
    this.#connectors.clear();
    await Promise.allSettled(all.map((c) => c.connector.close()));
  }

  async #row(project: string, name: string): Promise<Row> {
    const row = await this.#db
      .selectFrom("connections")
      .selectAll()
      .where("project", "=", project)
      .where("name", "=", name)
      .executeTakeFirst();
    if (!row)
      throw notFound(
        "connection",
        name,
        "List this project's connections with caretflow connections list (or pick its project with --project).",
      );
    return row;
  }

  async #connector(project: string, name: string): Promise<Connector> {
    const row = await this.#row(project, name);
    const stamp = `${row.updated_at}`;
    const cached = this.#connectors.get(row.id);
    if (cached && cached.stamp === stamp) return cached.connector;
    if (cached) await cached.connector.close();
    const type = connectorType(row.type);
    const sealed = JSON.parse(row.secrets_json) as Record<string, string>;
    const secrets: Record<string, string> = {};
    for (const [field, value] of Object.entries(sealed)) {
      try {
        secrets[field] = this.#secrets.unseal(value, purpose(row.id, field));
      } catch {
        throw new CaretflowError({
          code: "connection_secret_unreadable",
          kind: "operational",
          message: `The stored ${field} of connection '${name}' cannot be read with this server's secret key`,
          hint: "Set it again (caretflow connections edit NAME --password-stdin), or restore the secret.key this server was set up with.",
        });
      }
    }
    const missing = type.requiredSecrets.filter((f) => !secrets[f]);
    if (missing.length > 0)
      throw userError(
        "connection_secret_missing",
        `Connection '${name}' has no ${missing.join(", ")}`,
        "An owner sets it with caretflow connections edit.",
        400,
      );
    const connector = type.create(JSON.parse(row.settings_json), {
      secrets,
      addressPolicy: this.#policy(),
      ...(this.#fileRoot ? { fileRoot: join(this.#fileRoot, project) } : {}),
    });
    this.#connectors.set(row.id, { stamp, connector });
    return connector;
  }

  async #usesFile(project: string, file: string): Promise<boolean> {
    const rows = await this.#db
      .selectFrom("connections")
      .select("settings_json")
      .where("project", "=", project)
      .where("type", "=", "sqlite")
      .execute();
    return rows.some((r) => (JSON.parse(r.settings_json) as { file?: string }).file === file);
  }

  async #forget(id: string): Promise<void> {
    const cached = this.#connectors.get(id);
    this.#connectors.delete(id);
    await cached?.connector.close();
  }

  #sealAll(id: string, fields: readonly string[], current: Record<string, string>, given: Record<string, string>): Record<string, string> {
    const out = { ...current };
    for (const [field, value] of Object.entries(given)) {
      if (!fields.includes(field)) {
        throw userError(
          "unknown_secret_field",
          `'${field}' is not a secret field of this connection type`,
          `Secret fields: ${fields.join(", ") || "none"}.`,
          400,
        );
      }
      if (value === "") delete out[field];
      else out[field] = this.#secrets.seal(value, purpose(id, field));
    }
    return out;
  }
}

/** The connector as an object store, or a user error: a key or glob needs an S3, Azure Blob or GCS connection. */
function objectStore(connector: Connector, name: string): ObjectStoreConnector {
  if (isObjectStore(connector)) return connector;
  throw userError(
    "table_or_query_required",
    `Connection '${name}' is a database: it reads a table or a query, not an object key`,
    "Give --table or --query; --object is for S3, Azure Blob and GCS connections.",
    400,
  );
}

function purpose(id: string, field: string): string {
  return `connection.${id}.${field}`;
}

function parseSettings(
  schema: { safeParse(v: unknown): { success: boolean; data?: unknown; error?: { issues: { path: PropertyKey[]; message: string }[] } } },
  raw: unknown,
): unknown {
  const r = schema.safeParse(raw);
  if (r.success) return r.data;
  const issues = (r.error?.issues ?? []).map((i) => `${i.path.map(String).join(".") || "settings"}: ${i.message}`);
  throw userError(
    "invalid_connection_settings",
    `The connection settings are not valid: ${issues.join("; ")}`,
    "Check the fields the connection type needs (caretflow connections create --help).",
    400,
  );
}

function summaryOf(row: Row): ConnectionSummary {
  return {
    name: row.name,
    type: row.type as ConnectionSummary["type"],
    project: row.project,
    settings: JSON.parse(row.settings_json) as Record<string, unknown>,
    secretsSet: Object.keys(JSON.parse(row.secrets_json) as Record<string, string>).sort(),
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  };
}

/** The dataset name an import makes when none is given: the table's name, an object's name without extension; a query or glob needs one. */
export function defaultDatasetName(req: ConnectionImportRequest): string {
  if (req.name) return req.name;
  if (req.object !== undefined && !/[*?]/.test(req.object)) {
    const base = (req.object.split("/").pop() ?? "").replace(/\.[^.]*$/, "");
    if (DatasetName.safeParse(base).success) return base;
  }
  if (req.table !== undefined) {
    const last = req.table.split(".").pop()?.replaceAll('"', "") ?? "";
    if (DatasetName.safeParse(last).success) return last;
  }
  throw userError(
    "dataset_name_required",
    "Name the dataset this import makes",
    "Pass a name (caretflow datasets import --connection C --query ... --name N; a glob --object needs one too).",
    400,
  );
}
