import { createWriteStream } from "node:fs";
import { rm } from "node:fs/promises";
import type { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import {
  CaretflowError,
  type ConnectionPreview,
  type ConnectionTestResult,
  type ConnectorSource,
  type DiscoverNode,
  fileFormatOf,
  type RowBatch,
  type SourceFormat,
  userError,
} from "@caretflow/contracts";
import type { Connector } from "./connector.ts";

/** One object of a store: its key within its bucket, size in bytes and last change. */
export interface StoredObject {
  bucket: string;
  key: string;
  size: number;
  modified?: string;
}

/** What a listing returns: objects, and (with a delimiter) the "folders" one level down. */
export interface ObjectListing {
  objects: StoredObject[];
  prefixes: string[];
}

/**
 * The few calls an object store's SDK answers; ObjectStoreConnector builds browsing, glob matching and
 * downloads on them. Each turns its SDK's errors into CaretflowErrors (see storeError).
 */
export interface ObjectStoreClient {
  /** The store's name in messages ("S3", "Azure Blob Storage", "Google Cloud Storage"). */
  readonly label: string;
  /** The bucket (container) named in the settings, if any. */
  readonly bucket: string | undefined;
  /** Where the store is, for test()'s answer (an endpoint host, never a credential). */
  readonly host: string;
  listBuckets(signal?: AbortSignal): Promise<string[]>;
  /**
   * Objects under `prefix`, at most `max` (a listing with more sets `truncated`). With `delimited`,
   * only one level: objects directly under the prefix and the next-level prefixes.
   */
  list(
    bucket: string,
    prefix: string,
    opts: { delimited: boolean; max: number; signal?: AbortSignal },
  ): Promise<ObjectListing & { truncated: boolean }>;
  /** The object's metadata, or null when it does not exist (a missing bucket throws). */
  head(bucket: string, key: string, signal?: AbortSignal): Promise<StoredObject | null>;
  /** The object's bytes as a stream. */
  open(bucket: string, key: string, signal?: AbortSignal): Promise<Readable>;
  close(): Promise<void>;
}

/** The most objects one import or preview reads (a glob that matches more is refused). */
export const MAX_OBJECTS = 1000;

/** The most keys listed to match one glob (the keys under its literal folder). */
export const MAX_LISTED = 20_000;

/** Formats an object store import reads; Excel workbooks are files to upload, not objects to union. */
const OBJECT_FORMATS: readonly SourceFormat[] = ["csv", "tsv", "parquet", "json", "ndjson"];

/** The objects a key or glob names, all of one format. */
export interface ObjectMatch {
  objects: StoredObject[];
  format: SourceFormat;
}

/** A connector for an object store: discover and match objects, and download them for the dataset store to read. */
export interface ObjectStoreConnector extends Connector {
  readonly kind: "objects";
  /** The objects a key or glob names (at most MAX_OBJECTS, one format), or a user error saying why not. */
  match(pattern: string, signal?: AbortSignal): Promise<ObjectMatch>;
  /** Write one object to `file` (created, mode 600); aborting `signal` stops the download. */
  download(object: StoredObject, file: string, signal?: AbortSignal): Promise<void>;
}

/**
 * The matched objects as the dataset store reads them (DatasetStore.importObjects / previewObjects):
 * a label for messages and a download into a file the store names.
 */
export function objectsToRead(
  connector: ObjectStoreConnector,
  objects: readonly StoredObject[],
): { label: string; download(file: string, signal?: AbortSignal): Promise<void> }[] {
  return objects.map((o) => ({ label: o.key, download: (file, signal) => connector.download(o, file, signal) }));
}

/** True when the connector reads objects (S3, Azure Blob, GCS) rather than tables and queries. */
export function isObjectStore(c: Connector): c is ObjectStoreConnector {
  return (c as Partial<ObjectStoreConnector>).kind === "objects";
}

/** Whether a key pattern has glob characters (`*`, `?`). Pure. */
export function isGlob(pattern: string): boolean {
  return /[*?]/.test(pattern);
}

/**
 * A glob as a regular expression over whole keys: `*` and `?` stay within one folder, `**` crosses
 * folders (`a/**` + `/b` matches `a/b` too). Everything else matches itself. Pure.
 */
export function globToRegExp(glob: string): RegExp {
  let out = "";
  for (let i = 0; i < glob.length; i++) {
    const ch = glob[i]!;
    if (ch === "*" && glob[i + 1] === "*") {
      i++;
      if (glob[i + 1] === "/") {
        i++;
        out += "(?:.*/)?";
      } else out += ".*";
    } else if (ch === "*") out += "[^/]*";
    else if (ch === "?") out += "[^/]";
    else out += ch.replace(/[.+^${}()|[\]\\]/g, "\\$&");
  }
  return new RegExp(`^${out}$`);
}

/** The literal start of a glob, up to its last '/' before the first wildcard: what to list. Pure. */
export function globPrefix(glob: string): string {
  const first = glob.search(/[*?]/);
  const literal = first < 0 ? glob : glob.slice(0, first);
  return literal.slice(0, literal.lastIndexOf("/") + 1);
}

/**
 * The format all `keys` share, from their extensions, or a user error naming a key without a readable
 * format or two keys of different formats. Pure.
 */
export function commonFormat(keys: readonly string[]): SourceFormat {
  let found: { format: SourceFormat; key: string } | null = null;
  for (const key of keys) {
    const format = fileFormatOf(key);
    if (!format || !OBJECT_FORMATS.includes(format)) {
      throw userError(
        "unsupported_object_format",
        `The object '${key}' is not CSV, TSV, Parquet, JSON or NDJSON (caretflow reads the format from the key's extension)`,
        "Name objects .csv, .tsv, .parquet, .json, .ndjson or .jsonl, or narrow the glob to those objects (e.g. sales/*.csv).",
        422,
      );
    }
    if (found && found.format !== format) {
      throw userError(
        "objects_mixed_formats",
        `The objects matched are of different formats: '${found.key}' is ${found.format}, '${key}' is ${format}`,
        "One import reads objects of one format; narrow the glob to one extension (e.g. sales/*.csv).",
        422,
      );
    }
    found ??= { format, key };
  }
  if (!found) throw new Error("commonFormat of no keys");
  return found.format;
}

/**
 * Connector over an ObjectStoreClient. Paths: with a bucket in the settings, keys within it; without,
 * `bucket/key`. Browsing lists buckets, then one folder level at a time.
 */
export class ObjectStoreConnectorImpl implements ObjectStoreConnector {
  readonly kind = "objects" as const;

  constructor(private readonly client: ObjectStoreClient) {}

  async test(): Promise<ConnectionTestResult> {
    if (this.client.bucket) await this.client.list(this.client.bucket, "", { delimited: true, max: 1 });
    else await this.client.listBuckets();
    return { ok: true, host: this.client.host, serverVersion: this.client.label };
  }

  async discover(path?: string): Promise<DiscoverNode[]> {
    const clean = (path ?? "").replace(/^\/+/, "");
    if (!this.client.bucket && clean === "") {
      return (await this.client.listBuckets()).map((b) => ({ name: b, path: `${b}/`, kind: "container" as const }));
    }
    const { bucket, key } = this.split(clean);
    const prefix = key === "" || key.endsWith("/") ? key : `${key}/`;
    const listing = await this.client.list(bucket, prefix, { delimited: true, max: MAX_OBJECTS });
    const base = this.client.bucket ? "" : `${bucket}/`;
    return [
      ...listing.prefixes.map((p) => ({ name: p.slice(prefix.length), path: `${base}${p}`, kind: "prefix" as const })),
      ...listing.objects.map((o) => ({
        name: o.key.slice(prefix.length),
        path: `${base}${o.key}`,
        kind: "object" as const,
        type: describeObject(o),
      })),
    ];
  }

  async match(pattern: string, signal?: AbortSignal): Promise<ObjectMatch> {
    const { bucket, key } = this.split(pattern);
    if (key === "") {
      throw userError(
        "object_required",
        `'${pattern}' names no object`,
        "Give an object key or a glob such as sales/2024-*.csv (with bucket/ first when the connection names no bucket).",
        400,
      );
    }
    let objects: StoredObject[];
    if (!isGlob(key)) {
      const found = await this.client.head(bucket, key, signal);
      if (!found) throw objectNotFound(this.client.label, bucket, key);
      objects = [found];
    } else {
      const re = globToRegExp(key);
      const prefix = globPrefix(key);
      // Keys are listed from the glob's literal folder and matched here; a listing cut short could miss matches.
      const listing = await this.client.list(bucket, prefix, { delimited: false, max: MAX_LISTED, ...(signal ? { signal } : {}) });
      if (listing.truncated) {
        throw userError(
          "too_many_objects",
          `More than ${MAX_LISTED} objects lie under '${prefix || "the bucket's top"}', too many to match '${key}' against`,
          "Start the glob with a longer literal folder (e.g. sales/2024/*.csv rather than **/*.csv), so fewer keys are listed.",
          422,
        );
      }
      objects = listing.objects.filter((o) => re.test(o.key) && !o.key.endsWith("/"));
      if (objects.length === 0) {
        throw userError(
          "no_objects_match",
          `No object in ${this.client.label} bucket '${bucket}' matches '${key}'`,
          "Browse the bucket (caretflow connections browse NAME PATH) to see the keys, then fix the glob.",
          404,
        );
      }
      if (objects.length > MAX_OBJECTS) {
        throw userError(
          "too_many_objects",
          `'${key}' matches more than ${MAX_OBJECTS} objects; one import reads at most ${MAX_OBJECTS}`,
          "Narrow the glob (e.g. one month: sales/2024-01-*.csv), or combine the objects into fewer, larger ones.",
          422,
        );
      }
      objects.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
    }
    return { objects, format: commonFormat(objects.map((o) => o.key)) };
  }

  async download(object: StoredObject, file: string, signal?: AbortSignal): Promise<void> {
    try {
      const body = await this.client.open(object.bucket, object.key, signal);
      await pipeline(body, createWriteStream(file, { flags: "wx", mode: 0o600 }), ...(signal ? [{ signal }] : []));
    } catch (error) {
      await rm(file, { force: true });
      if (signal?.aborted) throw signal.reason ?? error;
      if (error instanceof CaretflowError) throw error;
      throw new CaretflowError({
        code: "source_connection_lost",
        kind: "operational",
        status: 502,
        message: `${this.client.label}: the download of '${object.key}' stopped before it finished`,
        hint: "Check that the store is reachable, then import again; nothing was stored.",
      });
    }
  }

  async preview(_source: ConnectorSource, _limit: number): Promise<ConnectionPreview> {
    throw objectSourceOnly(this.client.label);
  }

  read(_source: ConnectorSource): AsyncIterable<RowBatch> {
    throw objectSourceOnly(this.client.label);
  }

  readIncremental(): AsyncIterable<RowBatch> {
    throw userError(
      "incremental_not_supported",
      `${this.client.label} connections have no incremental import`,
      "Import the objects whole (a glob such as sales/2024-*.csv reads many at once).",
      400,
    );
  }

  close(): Promise<void> {
    return this.client.close();
  }

  /** The bucket and key of a path: the settings' bucket and the whole path, or the path's first segment and the rest. */
  private split(path: string): { bucket: string; key: string } {
    const clean = path.replace(/^\/+/, "");
    if (this.client.bucket) return { bucket: this.client.bucket, key: clean };
    const slash = clean.indexOf("/");
    const bucket = slash < 0 ? clean : clean.slice(0, slash);
    if (bucket === "" || isGlob(bucket)) {
      throw userError(
        "bucket_required",
        `'${path}' names no bucket`,
        "This connection names no bucket: write bucket/key (or bucket/glob), or set the connection's bucket.",
        400,
      );
    }
    return { bucket, key: slash < 0 ? "" : clean.slice(slash + 1) };
  }
}

function describeObject(o: StoredObject): string {
  return `${o.size} bytes${o.modified ? `, modified ${o.modified}` : ""}`;
}

function objectSourceOnly(label: string): CaretflowError {
  return userError(
    "object_source_required",
    `A ${label} connection reads objects, not tables or queries`,
    "Give an object key or glob (caretflow datasets import --connection NAME --object 'sales/*.csv').",
    400,
  );
}

/** The object is not in the bucket. */
export function objectNotFound(label: string, bucket: string, key: string): CaretflowError {
  return userError(
    "source_object_not_found",
    `${label} bucket '${bucket}' has no object '${key}'`,
    "Browse the bucket (caretflow connections browse NAME PATH) to see its keys; keys are case-sensitive.",
    404,
  );
}

/** The bucket (container) does not exist. */
export function bucketNotFound(label: string, bucket: string): CaretflowError {
  return userError(
    "source_bucket_not_found",
    `${label} has no bucket (container) '${bucket}', or these credentials cannot see it`,
    "Check the bucket's name (browse the connection without a path to list them).",
    404,
  );
}

/** The store refused the credentials. */
export function authFailed(label: string): CaretflowError {
  return userError(
    "connection_auth_failed",
    `${label} refused the credentials`,
    "Check the key (an owner sets it with caretflow connections edit NAME); it may be wrong, expired or revoked.",
    400,
  );
}

/** The credentials are good but may not do this. */
export function permissionDenied(label: string, what: string): CaretflowError {
  return userError(
    "source_permission_denied",
    `${label} denied access to ${what}`,
    "Give the key read and list permission on the bucket, or use a key that has it.",
    403,
  );
}

/** The store could not be reached. */
export function unreachable(label: string, host: string, reason: string): CaretflowError {
  return new CaretflowError({
    code: "connection_unreachable",
    kind: "operational",
    status: 502,
    message: `${label} at ${host} could not be reached (${reason})`,
    hint: "Check the endpoint and region, and that this server can reach the store.",
  });
}

/** A network error's short reason (refused, timed out, name not found), never its full text. */
export function networkReason(error: unknown): string | null {
  const e = error as { code?: string; cause?: { code?: string }; name?: string };
  const code = e?.code ?? e?.cause?.code;
  switch (code) {
    case "ECONNREFUSED":
      return "connection refused";
    case "ETIMEDOUT":
    case "UND_ERR_CONNECT_TIMEOUT":
      return "timed out";
    case "EHOSTUNREACH":
    case "ENETUNREACH":
      return "no route to host";
    case "ENOTFOUND":
    case "EAI_AGAIN":
      return "host name not found";
    case "ECONNRESET":
      return "connection reset";
    default:
      return null;
  }
}
