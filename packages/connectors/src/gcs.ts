import type { Readable } from "node:stream";
import { CaretflowError, GcsSettings, userError } from "@caretflow/contracts";
import { Storage } from "@google-cloud/storage";
import type { AddressPolicy } from "./address-guard.ts";
import type { ConnectorType } from "./connector.ts";
import { checkEndpoint } from "./http-guard.ts";
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

const LABEL = "Google Cloud Storage";

/** The fields of a service-account JSON key that caretflow uses. */
interface ServiceAccountKey {
  client_email: string;
  private_key: string;
}

/**
 * Google Cloud Storage with a service-account JSON key. With an endpoint (an emulator such as
 * fake-gcs-server) requests go there; an emulator does not check credentials.
 */
class GcsStore implements ObjectStoreClient {
  readonly label = LABEL;
  readonly bucket: string | undefined;
  readonly host: string;
  readonly #storage: Storage;
  readonly #ready: Promise<void>;

  constructor(settings: GcsSettings, key: ServiceAccountKey, policy: AddressPolicy) {
    this.bucket = settings.bucket;
    this.host = settings.endpoint ? new URL(settings.endpoint).host : "storage.googleapis.com";
    this.#storage = new Storage({
      projectId: settings.projectId,
      credentials: { client_email: key.client_email, private_key: key.private_key },
      ...(settings.endpoint ? { apiEndpoint: settings.endpoint.replace(/\/+$/, "") } : {}),
      retryOptions: { maxRetries: 2, autoRetry: true },
    });
    this.#ready = settings.endpoint ? checkEndpoint(settings.endpoint, policy) : checkEndpoint("https://storage.googleapis.com", policy);
    this.#ready.catch(() => undefined);
  }

  async listBuckets(signal?: AbortSignal): Promise<string[]> {
    return this.#call(
      async () => {
        const [buckets] = await this.#storage.getBuckets();
        return buckets.map((b) => b.name);
      },
      "the list of buckets",
      signal,
    );
  }

  async list(
    bucket: string,
    prefix: string,
    opts: { delimited: boolean; max: number; signal?: AbortSignal },
  ): Promise<ObjectListing & { truncated: boolean }> {
    return this.#call(
      async () => {
        const objects: StoredObject[] = [];
        const prefixes: string[] = [];
        let pageToken: string | undefined;
        do {
          opts.signal?.throwIfAborted();
          const [files, next, raw] = await this.#storage.bucket(bucket).getFiles({
            prefix,
            autoPaginate: false,
            maxResults: 1000,
            ...(opts.delimited ? { delimiter: "/" } : {}),
            ...(pageToken ? { pageToken } : {}),
          });
          for (const p of (raw as { prefixes?: string[] } | undefined)?.prefixes ?? []) prefixes.push(p);
          for (const f of files) {
            const updated = f.metadata.updated;
            objects.push({
              bucket,
              key: f.name,
              size: Number(f.metadata.size ?? 0),
              ...(updated ? { modified: new Date(updated).toISOString() } : {}),
            });
          }
          pageToken = (next as { pageToken?: string } | null)?.pageToken;
        } while (pageToken && objects.length + prefixes.length <= opts.max);
        return { objects, prefixes, truncated: pageToken !== undefined };
      },
      `bucket '${bucket}'`,
      opts.signal,
      bucket,
    );
  }

  async head(bucket: string, key: string, signal?: AbortSignal): Promise<StoredObject | null> {
    try {
      const [m] = await this.#call(() => this.#storage.bucket(bucket).file(key).getMetadata(), `'${key}'`, signal, bucket);
      return { bucket, key, size: Number(m.size ?? 0), ...(m.updated ? { modified: new Date(m.updated).toISOString() } : {}) };
    } catch (error) {
      if (error instanceof CaretflowError && error.code === "source_object_missing") {
        const [exists] = await this.#call(() => this.#storage.bucket(bucket).exists(), `bucket '${bucket}'`, signal, bucket);
        if (!exists) throw bucketNotFound(LABEL, bucket);
        return null;
      }
      throw error;
    }
  }

  async open(bucket: string, key: string, signal?: AbortSignal): Promise<Readable> {
    await this.#ready;
    // The stream reports its errors when read; check the object first so a missing one gets its own message.
    if (!(await this.head(bucket, key, signal)))
      throw new CaretflowError({ code: "source_object_missing", kind: "user", status: 404, message: `${LABEL} has no object '${key}'` });
    const stream = this.#storage.bucket(bucket).file(key).createReadStream({ validation: false });
    signal?.addEventListener("abort", () => stream.destroy(signal.reason as Error), { once: true });
    return stream;
  }

  async close(): Promise<void> {}

  async #call<T>(fn: () => Promise<T>, what: string, signal?: AbortSignal, bucket?: string): Promise<T> {
    await this.#ready;
    signal?.throwIfAborted();
    try {
      return await fn();
    } catch (error) {
      if (signal?.aborted) throw signal.reason ?? error;
      throw gcsError(error, what, this.host, bucket);
    }
  }
}

/** A GCS client error as a CaretflowError that names no credential. */
function gcsError(error: unknown, what: string, host: string, bucket?: string): CaretflowError {
  if (error instanceof CaretflowError) return error;
  const e = error as { code?: number | string; message?: string };
  const reason = networkReason(error);
  if (reason) return unreachable(LABEL, host, reason);
  if (e?.code === 404) {
    if (what.startsWith("bucket") || /bucket/i.test(e.message ?? "")) return bucketNotFound(LABEL, bucket ?? "?");
    return new CaretflowError({ code: "source_object_missing", kind: "user", status: 404, message: `${LABEL} has no object ${what}` });
  }
  if (e?.code === 401 || /invalid_grant|invalid_client|unauthorized_client|DECODER routines|PEM/i.test(e?.message ?? ""))
    return authFailed(LABEL);
  if (e?.code === 403) return permissionDenied(LABEL, what);
  return new CaretflowError({
    code: "source_error",
    kind: "operational",
    status: 502,
    message: `${LABEL} could not read ${what}${typeof e?.code === "number" ? ` (HTTP ${e.code})` : ""}`,
    hint: "Check the connection's project, bucket and endpoint, then try again.",
  });
}

/** The service-account key in the secret, or a user error (the key's text is never quoted). */
function parseKey(text: string | undefined): ServiceAccountKey {
  try {
    const key = JSON.parse(text ?? "") as Partial<ServiceAccountKey>;
    if (typeof key.client_email === "string" && typeof key.private_key === "string")
      return { client_email: key.client_email, private_key: key.private_key };
  } catch {
    // falls through to the error below
  }
  throw userError(
    "invalid_connection_secret",
    "The GCS service-account key is not a service-account JSON key (it needs client_email and private_key)",
    "Download a JSON key for the service account in the Google Cloud console (IAM > Service accounts > Keys) and set it again from stdin.",
    400,
  );
}

/** Google Cloud Storage (and emulators). */
export const gcsType: ConnectorType<typeof GcsSettings> = {
  type: "gcs",
  label: "Google Cloud Storage",
  settings: GcsSettings,
  secrets: ["serviceAccountKey"],
  requiredSecrets: ["serviceAccountKey"],
  create(settings, ctx) {
    return new ObjectStoreConnectorImpl(new GcsStore(settings, parseKey(ctx.secrets.serviceAccountKey), ctx.addressPolicy));
  },
};
