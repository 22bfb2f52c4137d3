import { z } from "zod";

/**
 * Shared storage for dataset files and MLflow artifacts (`caretflow up --storage`, `caretflow worker --storage`):
 * `s3://bucket[/prefix]` on AWS S3 or an S3-compatible store (CARETFLOW_S3_ENDPOINT_URL). Credentials never
 * appear in the URL: they come from the standard AWS chain (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, a profile, a role).
 */
export interface StorageLocation {
  kind: "s3";
  bucket: string;
  /** Key prefix without leading or trailing '/', "" for the bucket's root. */
  prefix: string;
  /** The URL as given, normalised: s3://bucket or s3://bucket/prefix. */
  url: string;
}

const EXAMPLE = "e.g. s3://caretflow-data/team-a";

// S3's bucket naming rules: 3-63 characters, lowercase letters, digits, '.' and '-', starting and ending
// with a letter or digit, no '..', not an IP address.
const BUCKET = /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/;
const PREFIX_SEGMENT = /^[A-Za-z0-9!_.*'()-]+$/;

/** Parses a storage URL; the error messages say what to change. */
export const StorageUrl = z.string().transform((value, ctx): StorageLocation => {
  const fail = (message: string) => {
    ctx.addIssue({ code: "custom", message });
    return z.NEVER;
  };
  const text = value.trim();
  const scheme = /^([A-Za-z][A-Za-z0-9+.-]*):\/\//.exec(text)?.[1];
  if (!scheme) return fail(`the storage must be an s3:// URL (${EXAMPLE})`);
  if (scheme.toLowerCase() !== "s3") return fail(`storage '${scheme}://' is not supported: only s3:// (${EXAMPLE})`);
  const rest = text.slice(scheme.length + 3);
  if (/[?#]/.test(rest)) return fail(`the storage URL takes no query or fragment (${EXAMPLE}); the endpoint is CARETFLOW_S3_ENDPOINT_URL`);
  const slash = rest.indexOf("/");
  const authority = slash < 0 ? rest : rest.slice(0, slash);
  if (authority.includes("@")) {
    return fail("the storage URL must not hold credentials: give them as AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (or an AWS profile)");
  }
  if (authority.includes(":"))
    return fail("the storage URL names a bucket, not a host and port: give an S3-compatible store's endpoint as CARETFLOW_S3_ENDPOINT_URL");
  const bucket = authority;
  if (!bucket) return fail(`the storage URL names no bucket (${EXAMPLE})`);
  if (!BUCKET.test(bucket) || bucket.includes("..") || /^\d+\.\d+\.\d+\.\d+$/.test(bucket)) {
    return fail(
      `'${bucket}' is not a valid S3 bucket name: use 3-63 lowercase letters, digits, '.' and '-', starting and ending with a letter or digit`,
    );
  }
  const segments = (slash < 0 ? "" : rest.slice(slash + 1)).split("/").filter((s) => s !== "");
  for (const segment of segments) {
    if (segment === "." || segment === "..") return fail(`the storage prefix must not contain '.' or '..' segments (${EXAMPLE})`);
    if (!PREFIX_SEGMENT.test(segment)) {
      return fail(`the storage prefix segment '${segment}' has characters S3 keys should not carry: use letters, digits and !_.*'()-`);
    }
  }
  const prefix = segments.join("/");
  if (prefix.length > 512) return fail("the storage prefix is longer than 512 characters");
  return { kind: "s3", bucket, prefix, url: `s3://${bucket}${prefix ? `/${prefix}` : ""}` };
});

/** The endpoint of an S3-compatible store (MinIO, Ceph, R2...): http(s)://host[:port], no credentials. */
export const S3EndpointUrl = z.string().transform((value, ctx): string => {
  let url: URL | null = null;
  try {
    url = new URL(value.trim());
  } catch {}
  if (!url || !["http:", "https:"].includes(url.protocol) || !url.hostname) {
    ctx.addIssue({
      code: "custom",
      message: "the S3 endpoint must be an http:// or https:// URL with a host, e.g. https://minio.example.com:9000",
    });
    return z.NEVER;
  }
  if (url.username || url.password) {
    ctx.addIssue({
      code: "custom",
      message: "the S3 endpoint URL must not hold credentials: give them as AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY",
    });
    return z.NEVER;
  }
  if (url.search || url.hash) {
    ctx.addIssue({ code: "custom", message: "the S3 endpoint URL takes no query or fragment" });
    return z.NEVER;
  }
  return url.toString().replace(/\/$/, "");
});

/** Where shared storage is and how to reach it, once parsed. */
export interface StorageConfig extends StorageLocation {
  /** An S3-compatible store's endpoint; unset: AWS S3. */
  endpoint?: string;
  /** AWS region (AWS_REGION / AWS_DEFAULT_REGION), else us-east-1. */
  region: string;
}

/**
 * The storage to use from an explicit URL (a flag) or CARETFLOW_STORAGE_URL, with its endpoint from
 * CARETFLOW_S3_ENDPOINT_URL; null when neither names one (local disk). Throws an Error whose message
 * says what to fix; it never repeats a credential.
 * @example storageConfig("s3://lake/caretflow", process.env)
 */
export function storageConfig(url: string | undefined, env: Readonly<Record<string, string | undefined>>): StorageConfig | null {
  const given = url ?? (env.CARETFLOW_STORAGE_URL || undefined);
  if (given === undefined || given.trim() === "") return null;
  const where = url !== undefined ? "--storage" : "CARETFLOW_STORAGE_URL";
  const parsed = StorageUrl.safeParse(given);
  if (!parsed.success) throw new Error(`${where}: ${parsed.error.issues[0]?.message}`);
  const endpointText = env.CARETFLOW_S3_ENDPOINT_URL || undefined;
  let endpoint: string | undefined;
  if (endpointText !== undefined) {
    const e = S3EndpointUrl.safeParse(endpointText);
    if (!e.success) throw new Error(`CARETFLOW_S3_ENDPOINT_URL: ${e.error.issues[0]?.message}`);
    endpoint = e.data;
  }
  return { ...parsed.data, ...(endpoint ? { endpoint } : {}), region: env.AWS_REGION || env.AWS_DEFAULT_REGION || "us-east-1" };
}

/** The storage as logs show it: its URL and endpoint, never a credential. */
export function describeStorage(storage: StorageConfig): string {
  return `${storage.url}${storage.endpoint ? ` (endpoint ${storage.endpoint})` : ""}`;
}
