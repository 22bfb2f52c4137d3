import { createReadStream, createWriteStream } from "node:fs";
import { rm } from "node:fs/promises";
import type { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { GetObjectCommand, HeadObjectCommand, S3Client } from "@aws-sdk/client-s3";
import { Upload } from "@aws-sdk/lib-storage";
import { CaretflowError, type StorageConfig } from "@caretflow/contracts";

/**
 * Files by key in shared storage, so processes on other machines (workers, a server moved to a fresh
 * machine) read the same dataset files. Keys are relative ("datasets/sales/<hash>.parquet"); the store
 * adds its prefix. Local disk (the embedded default) needs none.
 */
export interface BlobStore {
  /** Where the keys live, for messages and logs: s3://bucket/prefix (never a credential). */
  readonly location: string;
  /** Upload a local file as `key`, replacing what is there; resolves once the store holds all of it. */
  put(key: string, localFile: string): Promise<void>;
  /** Download `key` into `localFile` (created or replaced); a missing key is a `blob_not_found` error. */
  get(key: string, localFile: string): Promise<void>;
  /** Whether `key` exists. */
  has(key: string): Promise<boolean>;
  close(): void;
}

/**
 * A BlobStore on S3 or an S3-compatible store, credentials from the AWS chain (environment, profile, role).
 * Uploads go through lib-storage's Upload: multipart in 8 MiB parts above that size, so large versions stream.
 */
export class S3BlobStore implements BlobStore {
  readonly location: string;
  readonly #s3: S3Client;
  readonly #bucket: string;
  readonly #prefix: string;

  constructor(config: StorageConfig, client?: S3Client) {
    this.location = config.url;
    this.#bucket = config.bucket;
    this.#prefix = config.prefix;
    this.#s3 =
      client ??
      new S3Client({
        region: config.region,
        // S3-compatible stores (MinIO, Ceph...) answer on one host: bucket in the path, not the host name.
        ...(config.endpoint ? { endpoint: config.endpoint, forcePathStyle: true } : {}),
        maxAttempts: 5,
        requestHandler: { connectionTimeout: 10_000, requestTimeout: 300_000 },
      });
  }

  /** The object key of a relative key: <prefix>/<key>. */
  objectKey(key: string): string {
    return this.#prefix ? `${this.#prefix}/${key}` : key;
  }

  async put(key: string, localFile: string): Promise<void> {
    const objectKey = this.objectKey(key);
    try {
      const upload = new Upload({
        client: this.#s3,
        params: { Bucket: this.#bucket, Key: objectKey, Body: createReadStream(localFile), ContentType: "application/vnd.apache.parquet" },
        queueSize: 4,
        partSize: 8 * 1024 * 1024,
        leavePartsOnError: false,
      });
      await upload.done();
    } catch (error) {
      throw storageError(`could not upload ${this.#where(objectKey)}`, error);
    }
  }

  async get(key: string, localFile: string): Promise<void> {
    const objectKey = this.objectKey(key);
    try {
      const out = await this.#s3.send(new GetObjectCommand({ Bucket: this.#bucket, Key: objectKey }));
      await pipeline(out.Body as Readable, createWriteStream(localFile, { mode: 0o600 }));
    } catch (error) {
      await rm(localFile, { force: true });
      const name = (error as { name?: string }).name;
      if (name === "NoSuchKey" || name === "NotFound") {
        throw new CaretflowError({
          code: "blob_not_found",
          kind: "operational",
          status: 502,
          message: `${this.#where(objectKey)} does not exist`,
          hint: "Check that every caretflow server and worker uses the same --storage, and that nothing deleted objects under its prefix.",
          cause: error,
        });
      }
      throw storageError(`could not download ${this.#where(objectKey)}`, error);
    }
  }

  async has(key: string): Promise<boolean> {
    const objectKey = this.objectKey(key);
    try {
      await this.#s3.send(new HeadObjectCommand({ Bucket: this.#bucket, Key: objectKey }));
      return true;
    } catch (error) {
      const e = error as { name?: string; $metadata?: { httpStatusCode?: number } };
      if (e.name === "NotFound" || e.name === "NoSuchKey" || e.$metadata?.httpStatusCode === 404) return false;
      throw storageError(`could not look up ${this.#where(objectKey)}`, error);
    }
  }

  close(): void {
    this.#s3.destroy();
  }

  #where(objectKey: string): string {
    return `s3://${this.#bucket}/${objectKey}`;
  }
}

/** An SDK failure as an operational error: its name and message (the SDK's carry no credential), and what to check. */
function storageError(what: string, error: unknown): CaretflowError {
  const e = error as { name?: string; message?: string; $metadata?: { httpStatusCode?: number } };
  const status = e.$metadata?.httpStatusCode;
  const reason = `${e.name ?? "Error"}${status ? ` (HTTP ${status})` : ""}: ${e.message ?? String(error)}`;
  return new CaretflowError({
    code: "storage_unavailable",
    kind: "operational",
    status: 503,
    message: `${what}: ${reason}`,
    hint: "Check the storage: that the bucket exists, that AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (or the AWS profile) may read and write it, and CARETFLOW_S3_ENDPOINT_URL for an S3-compatible store.",
    cause: error,
  });
}
