import { describe, expect, it } from "vitest";
import { describeStorage, S3EndpointUrl, StorageUrl, storageConfig } from "./storage.ts";

describe("StorageUrl", () => {
  it.each([
    ["s3://caretflow-data", { bucket: "caretflow-data", prefix: "", url: "s3://caretflow-data" }],
    ["s3://caretflow-data/", { bucket: "caretflow-data", prefix: "", url: "s3://caretflow-data" }],
    ["s3://lake.example/team-a/ml", { bucket: "lake.example", prefix: "team-a/ml", url: "s3://lake.example/team-a/ml" }],
    ["s3://abc//x//y/", { bucket: "abc", prefix: "x/y", url: "s3://abc/x/y" }],
    ["S3://abc/p", { bucket: "abc", prefix: "p", url: "s3://abc/p" }],
  ])("%s parses", (text, expected) => {
    expect(StorageUrl.parse(text)).toEqual({ kind: "s3", ...expected });
  });

  it.each([
    ["caretflow-data", /must be an s3:\/\/ URL/],
    ["/mnt/shared", /must be an s3:\/\/ URL/],
    ["gs://bucket/x", /'gs:\/\/' is not supported: only s3:\/\//],
    ["file:///tmp/x", /'file:\/\/' is not supported/],
    ["s3://", /names no bucket/],
    ["s3:///prefix", /names no bucket/],
    ["s3://ab", /not a valid S3 bucket name/],
    ["s3://Bucket", /not a valid S3 bucket name/],
    ["s3://bucket_name", /not a valid S3 bucket name/],
    ["s3://-bucket", /not a valid S3 bucket name/],
    ["s3://a..b", /not a valid S3 bucket name/],
    ["s3://192.168.1.10", /not a valid S3 bucket name/],
    [`s3://${"a".repeat(64)}`, /not a valid S3 bucket name/],
    ["s3://bucket/a/../b", /must not contain '\.' or '\.\.' segments/],
    ["s3://bucket/./b", /must not contain '\.' or '\.\.' segments/],
    ["s3://bucket/a b", /segment 'a b' has characters/],
    ["s3://bucket/x?versionId=1", /no query or fragment/],
    ["s3://bucket/x#frag", /no query or fragment/],
    ["s3://AKIAEXAMPLE:secret@bucket/x", /must not hold credentials/],
    ["s3://user@bucket", /must not hold credentials/],
    ["s3://bucket:9000/x", /not a host and port: .*CARETFLOW_S3_ENDPOINT_URL/],
  ])("%s is refused", (text, message) => {
    const parsed = StorageUrl.safeParse(text);
    expect(parsed.success).toBe(false);
    expect(parsed.error?.issues[0]?.message).toMatch(message);
  });

  it("never repeats a secret given in the URL", () => {
    const parsed = StorageUrl.safeParse("s3://AKIAEXAMPLE:sup3rsecret@bucket/x");
    expect(parsed.error?.issues[0]?.message).not.toContain("sup3rsecret");
  });
});

describe("S3EndpointUrl", () => {
  it.each([
    ["http://127.0.0.1:9000", "http://127.0.0.1:9000"],
    ["https://minio.example.com/", "https://minio.example.com"],
    ["https://storage.example.com/s3", "https://storage.example.com/s3"],
  ])("%s parses", (text, expected) => {
    expect(S3EndpointUrl.parse(text)).toBe(expected);
  });

  it.each([
    ["minio:9000", /http:\/\/ or https:\/\/ URL/],
    ["ftp://minio", /http:\/\/ or https:\/\/ URL/],
    ["https://key:secret@minio.example.com", /must not hold credentials/],
    ["https://minio.example.com/?x=1", /no query/],
  ])("%s is refused", (text, message) => {
    const parsed = S3EndpointUrl.safeParse(text);
    expect(parsed.success).toBe(false);
    expect(parsed.error?.issues[0]?.message).toMatch(message);
    expect(parsed.error?.issues[0]?.message).not.toContain("secret@");
  });
});

describe("storageConfig", () => {
  it("is null when neither the flag nor CARETFLOW_STORAGE_URL names a storage", () => {
    expect(storageConfig(undefined, {})).toBeNull();
    expect(storageConfig(undefined, { CARETFLOW_STORAGE_URL: "" })).toBeNull();
  });

  it("takes the flag over the environment, with the endpoint and region from the environment", () => {
    const env = { CARETFLOW_STORAGE_URL: "s3://env-bucket", CARETFLOW_S3_ENDPOINT_URL: "http://127.0.0.1:9000/", AWS_REGION: "eu-west-1" };
    const config = storageConfig("s3://flag-bucket/p", env);
    expect(config).toEqual({
      kind: "s3",
      bucket: "flag-bucket",
      prefix: "p",
      url: "s3://flag-bucket/p",
      endpoint: "http://127.0.0.1:9000",
      region: "eu-west-1",
    });
    expect(describeStorage(config!)).toBe("s3://flag-bucket/p (endpoint http://127.0.0.1:9000)");
    expect(storageConfig(undefined, env)?.bucket).toBe("env-bucket");
    expect(storageConfig(undefined, { CARETFLOW_STORAGE_URL: "s3://b-1", AWS_DEFAULT_REGION: "us-west-2" })?.region).toBe("us-west-2");
    expect(storageConfig(undefined, { CARETFLOW_STORAGE_URL: "s3://b-1" })?.region).toBe("us-east-1");
  });

  it("names the setting that is wrong", () => {
    expect(() => storageConfig("gs://x", {})).toThrow(/^--storage: storage 'gs:\/\/' is not supported/);
    expect(() => storageConfig(undefined, { CARETFLOW_STORAGE_URL: "s3://B" })).toThrow(/^CARETFLOW_STORAGE_URL: 'B' is not a valid/);
    expect(() => storageConfig("s3://bucket", { CARETFLOW_S3_ENDPOINT_URL: "https://k:s@h" })).toThrow(
      /^CARETFLOW_S3_ENDPOINT_URL: .*must not hold credentials/,
    );
  });
});
