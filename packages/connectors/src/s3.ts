import type { Readable } from "node:stream";
import {
  GetObjectCommand,
  HeadBucketCommand,
  HeadObjectCommand,
  ListBucketsCommand,
  ListObjectsV2Command,
  S3Client,
} from "@aws-sdk/client-s3";
import { CaretflowError, S3Settings } from "@caretflow/contracts";
import type { AddressPolicy } from "./address-guard.ts";
import type { ConnectorType } from "./connector.ts";
import { checkEndpoint, guardedAgents } from "./http-guard.ts";
import {
  authFailed,
  bucketNotFound,
  networkReason,
  type ObjectListing,
  type ObjectStoreClient,
  ObjectStoreConnectorImpl,
  permissionDenied,
  type StoredObject,
  unreachable,
} from "./object-store.ts";

const LABEL = "S3";

/**
 * Amazon S3 and S3-compatible stores (MinIO, Ceph, R2...). Credentials are always the connection's own
 * (access key id + secret access key), never the server's environment or instance role.
 */
class S3Store implements ObjectStoreClient {
  readonly label = LABEL;
  readonly bucket: string | undefined;
  readonly host: string;
  readonly #s3: S3Client;
  readonly #ready: Promise<void>;

  constructor(settings: S3Settings, secrets: Readonly<Record<string, string>>, policy: AddressPolicy) {
    this.bucket = settings.bucket;
    this.host = settings.endpoint ? new URL(settings.endpoint).host : `s3.${settings.region}.amazonaws.com`;
    const agents = guardedAgents(policy);
    this.#s3 = new S3Client({
      region: settings.region,
      ...(settings.endpoint ? { endpoint: settings.endpoint } : {}),
      forcePathStyle: settings.pathStyle,
      credentials: {
        accessKeyId: settings.accessKeyId,
        secretAccessKey: secrets.secretAccessKey ?? "",
        ...(secrets.sessionToken ? { sessionToken: secrets.sessionToken } : {}),
      },
      maxAttempts: 3,
      requestHandler: { httpAgent: agents.http, httpsAgent: agents.https, connectionTimeout: 10_000, requestTimeout: 60_000 },
    });
    this.#ready = settings.endpoint ? checkEndpoint(settings.endpoint, policy) : Promise.resolve();
    this.#ready.catch(() => undefined);
  }

  async listBuckets(signal?: AbortSignal): Promise<string[]> {
    const out = await this.#send((s3, o) => s3.send(new ListBucketsCommand({}), o), "the list of buckets", signal);
    return (out.Buckets ?? []).flatMap((b) => (b.Name ? [b.Name] : []));
  }

  async list(
    bucket: string,
    prefix: string,
    opts: { delimited: boolean; max: number; signal?: AbortSignal },
  ): Promise<ObjectListing & { truncated: boolean }> {
    const objects: StoredObject[] = [];
    const prefixes: string[] = [];
    let token: string | undefined;
    do {
      const page = await this.#send(
        (s3, o) =>
          s3.send(
            new ListObjectsV2Command({
              Bucket: bucket,
              Prefix: prefix,
              ...(opts.delimited ? { Delimiter: "/" } : {}),
              MaxKeys: Math.min(1000, opts.max - objects.length - prefixes.length + 1),
              ...(token ? { ContinuationToken: token } : {}),
            }),
            o,
          ),
        `bucket '${bucket}'`,
        opts.signal,
        bucket,
      );
      for (const p of page.CommonPrefixes ?? []) if (p.Prefix) prefixes.push(p.Prefix);
      for (const o of page.Contents ?? []) {
        if (o.Key === undefined) continue;
        objects.push({
          bucket,
          key: o.Key,
          size: Number(o.Size ?? 0),
          ...(o.LastModified ? { modified: o.LastModified.toISOString() } : {}),
        });
      }
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (token && objects.length + prefixes.length <= opts.max);
    return { objects, prefixes, truncated: token !== undefined };
  }

  async head(bucket: string, key: string, signal?: AbortSignal): Promise<StoredObject | null> {
    try {
      const out = await this.#send((s3, o) => s3.send(new HeadObjectCommand({ Bucket: bucket, Key: key }), o), `'${key}'`, signal, bucket);
      return {
        bucket,
        key,
        size: Number(out.ContentLength ?? 0),
        ...(out.LastModified ? { modified: out.LastModified.toISOString() } : {}),
      };
    } catch (error) {
      // HEAD answers a bare 404 for a missing key and a missing bucket alike: ask about the bucket.
      if (error instanceof CaretflowError && error.code === "source_object_missing") {
        await this.#send((s3, o) => s3.send(new HeadBucketCommand({ Bucket: bucket }), o), `bucket '${bucket}'`, signal, bucket);
        return null;
      }
      throw error;
    }
  }

  async open(bucket: string, key: string, signal?: AbortSignal): Promise<Readable> {
    const out = await this.#send((s3, o) => s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }), o), `'${key}'`, signal, bucket);
    return out.Body as Readable;
  }

  async close(): Promise<void> {
    this.#s3.destroy();
  }

  /** Run one SDK call after the endpoint check, its errors as CaretflowErrors. */
  async #send<O>(
    call: (s3: S3Client, opts: { abortSignal?: AbortSignal }) => Promise<O>,
    what: string,
    signal?: AbortSignal,
    bucket?: string,
  ): Promise<O> {
    await this.#ready;
    try {
      return await call(this.#s3, signal ? { abortSignal: signal } : {});
    } catch (error) {
      if (signal?.aborted) throw signal.reason ?? error;
      throw s3Error(error, what, this.host, bucket);
    }
  }
}

/** An S3 SDK error as a CaretflowError that names no credential. */
function s3Error(error: unknown, what: string, host: string, bucket?: string): CaretflowError {
  if (error instanceof CaretflowError) return error;
  const e = error as { name?: string; Code?: string; $metadata?: { httpStatusCode?: number } };
  const name = e?.name ?? e?.Code ?? "";
  const status = e?.$metadata?.httpStatusCode;
  switch (name) {
    case "NoSuchBucket":
      return bucketNotFound(LABEL, bucket ?? "?");
    case "NoSuchKey":
    case "NotFound":
      if (name === "NotFound" && what.startsWith("bucket")) return bucketNotFound(LABEL, bucket ?? "?");
      return new CaretflowError({ code: "source_object_missing", kind: "user", status: 404, message: `${LABEL} has no object ${what}` });
    case "InvalidAccessKeyId":
    case "SignatureDoesNotMatch":
    case "InvalidToken":
    case "ExpiredToken":
    case "InvalidClientTokenId":
      return authFailed(LABEL);
    case "AccessDenied":
    case "AllAccessDisabled":
      return permissionDenied(LABEL, what);
    default:
      break;
  }
  const reason = networkReason(error);
  if (reason) return unreachable(LABEL, host, reason);
  if (status === 403) return permissionDenied(LABEL, what);
  if (status === 404) return bucket ? bucketNotFound(LABEL, bucket) : unreachable(LABEL, host, "not found");
  return new CaretflowError({
    code: "source_error",
    kind: "operational",
    status: 502,
    message: `${LABEL} could not read ${what}: ${name || "error"}${status ? ` (HTTP ${status})` : ""}`,
    hint: "Check the connection's endpoint, region and bucket, then try again.",
  });
}

/** Amazon S3 and S3-compatible endpoints. */
export const s3Type: ConnectorType<typeof S3Settings> = {
  type: "s3",
  label: "Amazon S3 / S3-compatible",
  settings: S3Settings,
  secrets: ["secretAccessKey", "sessionToken"],
  requiredSecrets: ["secretAccessKey"],
  create(settings, ctx) {
    return new ObjectStoreConnectorImpl(new S3Store(settings, ctx.secrets, ctx.addressPolicy));
  },
};
