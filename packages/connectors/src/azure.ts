import type { Readable } from "node:stream";
import { AnonymousCredential, BlobServiceClient, type ContainerClient, StorageSharedKeyCredential } from "@azure/storage-blob";
import { AzureSettings, CaretflowError, userError } from "@caretflow/contracts";
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

const LABEL = "Azure Blob Storage";

/**
 * Azure Blob Storage with an account key or a SAS token. The service URL is the endpoint when given
 * (Azurite: http://127.0.0.1:10000/devstoreaccount1; sovereign clouds), else the account's public one.
 */
class AzureStore implements ObjectStoreClient {
  readonly label = LABEL;
  readonly bucket: string | undefined;
  readonly host: string;
  readonly #service: BlobServiceClient;
  readonly #ready: Promise<void>;

  constructor(settings: AzureSettings, secrets: Readonly<Record<string, string>>, policy: AddressPolicy) {
    this.bucket = settings.container;
    const base = (settings.endpoint ?? `https://${settings.account}.blob.core.windows.net`).replace(/\/+$/, "");
    this.host = new URL(base).host;
    if (secrets.accountKey) {
      this.#service = new BlobServiceClient(base, new StorageSharedKeyCredential(settings.account, secrets.accountKey), {
        retryOptions: { maxTries: 3 },
      });
    } else {
      const sas = (secrets.sasToken ?? "").replace(/^\?/, "");
      this.#service = new BlobServiceClient(`${base}?${sas}`, new AnonymousCredential(), { retryOptions: { maxTries: 3 } });
    }
    this.#ready = checkEndpoint(base, policy);
    this.#ready.catch(() => undefined);
  }

  async listBuckets(signal?: AbortSignal): Promise<string[]> {
    return this.#call(
      async () => {
        const out: string[] = [];
        for await (const c of this.#service.listContainers({ ...(signal ? { abortSignal: signal } : {}) })) out.push(c.name);
        return out;
      },
      "the list of containers",
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
        const container = this.#container(bucket);
        const objects: StoredObject[] = [];
        const prefixes: string[] = [];
        const options = { prefix, ...(opts.signal ? { abortSignal: opts.signal } : {}) };
        const pages = opts.delimited
          ? container.listBlobsByHierarchy("/", options).byPage({ maxPageSize: 1000 })
          : container.listBlobsFlat(options).byPage({ maxPageSize: 1000 });
        let truncated = false;
        for await (const page of pages) {
          const segment = page.segment as {
            blobItems: { name: string; properties: { contentLength?: number; lastModified?: Date } }[];
            blobPrefixes?: { name: string }[];
          };
          for (const p of segment.blobPrefixes ?? []) prefixes.push(p.name);
          for (const b of segment.blobItems) {
            objects.push({
              bucket,
              key: b.name,
              size: Number(b.properties.contentLength ?? 0),
              ...(b.properties.lastModified ? { modified: b.properties.lastModified.toISOString() } : {}),
            });
          }
          if (objects.length + prefixes.length > opts.max) {
            truncated = Boolean(page.continuationToken);
            break;
          }
        }
        return { objects, prefixes, truncated };
      },
      `container '${bucket}'`,
      opts.signal,
      bucket,
    );
  }

  async head(bucket: string, key: string, signal?: AbortSignal): Promise<StoredObject | null> {
    try {
      const p = await this.#call(
        () =>
          this.#container(bucket)
            .getBlobClient(key)
            .getProperties(signal ? { abortSignal: signal } : {}),
        `'${key}'`,
        signal,
        bucket,
      );
      return { bucket, key, size: Number(p.contentLength ?? 0), ...(p.lastModified ? { modified: p.lastModified.toISOString() } : {}) };
    } catch (error) {
      if (error instanceof CaretflowError && error.code === "source_object_missing") {
        // A HEAD of a blob answers 404 without saying whether the container exists: ask.
        const exists = await this.#call(() => this.#container(bucket).exists(), `container '${bucket}'`, signal, bucket);
        if (!exists) throw bucketNotFound(LABEL, bucket);
        return null;
      }
      throw error;
    }
  }

  async open(bucket: string, key: string, signal?: AbortSignal): Promise<Readable> {
    const response = await this.#call(
      () =>
        this.#container(bucket)
          .getBlobClient(key)
          .download(0, undefined, signal ? { abortSignal: signal } : {}),
      `'${key}'`,
      signal,
      bucket,
    );
    if (!response.readableStreamBody) throw new Error("Azure answered a download without a body");
    return response.readableStreamBody as Readable;
  }

  async close(): Promise<void> {}

  #container(name: string): ContainerClient {
    return this.#service.getContainerClient(name);
  }

  async #call<T>(fn: () => Promise<T>, what: string, signal?: AbortSignal, bucket?: string): Promise<T> {
    await this.#ready;
    try {
      return await fn();
    } catch (error) {
      if (signal?.aborted) throw signal.reason ?? error;
      throw azureError(error, what, this.host, bucket);
    }
  }
}

/** An Azure SDK error as a CaretflowError that names no credential. */
function azureError(error: unknown, what: string, host: string, bucket?: string): CaretflowError {
  if (error instanceof CaretflowError) return error;
  const e = error as { code?: string; statusCode?: number; message?: string; details?: { errorCode?: string } };
  const code = e?.details?.errorCode ?? e?.code ?? "";
  // "AuthorizationFailure" also means a refused signature ("Server failed to authenticate the request"), as Azurite answers it.
  if (code === "AuthorizationFailure" && /failed to authenticate/i.test(e?.message ?? "")) return authFailed(LABEL);
  switch (code) {
    case "ContainerNotFound":
      return bucketNotFound(LABEL, bucket ?? "?");
    case "BlobNotFound":
      return new CaretflowError({ code: "source_object_missing", kind: "user", status: 404, message: `${LABEL} has no blob ${what}` });
    case "AuthenticationFailed":
    case "InvalidAuthenticationInfo":
    case "NoAuthenticationInformation":
      return authFailed(LABEL);
    case "AuthorizationFailure":
    case "AuthorizationPermissionMismatch":
    case "AuthorizationResourceTypeMismatch":
    case "InsufficientAccountPermissions":
      return permissionDenied(LABEL, what);
    default:
      break;
  }
  const reason = networkReason(error);
  if (reason) return unreachable(LABEL, host, reason);
  if (e?.statusCode === 404 && !code) {
    return what.startsWith("container")
      ? bucketNotFound(LABEL, bucket ?? "?")
      : new CaretflowError({ code: "source_object_missing", kind: "user", status: 404, message: `${LABEL} has no blob ${what}` });
  }
  if (e?.statusCode === 403) return authFailed(LABEL);
  return new CaretflowError({
    code: "source_error",
    kind: "operational",
    status: 502,
    message: `${LABEL} could not read ${what}: ${code || "error"}${e?.statusCode ? ` (HTTP ${e.statusCode})` : ""}`,
    hint: "Check the connection's account, endpoint and container, then try again.",
  });
}

/** Azure Blob Storage (and Azurite). */
export const azureType: ConnectorType<typeof AzureSettings> = {
  type: "azure",
  label: "Azure Blob Storage",
  settings: AzureSettings,
  secrets: ["accountKey", "sasToken"],
  requiredSecrets: [],
  create(settings, ctx) {
    if (!ctx.secrets.accountKey && !ctx.secrets.sasToken) {
      throw userError(
        "connection_secret_missing",
        "An Azure connection needs an account key or a SAS token",
        "An owner sets one with caretflow connections edit NAME --secret accountKey (or sasToken), reading it from stdin.",
        400,
      );
    }
    return new ObjectStoreConnectorImpl(new AzureStore(settings, ctx.secrets, ctx.addressPolicy));
  },
};
