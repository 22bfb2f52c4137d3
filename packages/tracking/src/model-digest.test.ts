import { createHash } from "node:crypto";
import { describe, expect, it } from "vitest";
import { MANIFEST_HEADER, manifestDigest } from "./model-digest.ts";
import { artifactPathOf } from "./registry.service.ts";

const sha = (s: string) => createHash("sha256").update(s).digest("hex");
const RUN = "0123456789abcdef0123456789abcdef";

describe("manifestDigest", () => {
  const files = [
    { path: "model.pkl", sha256: sha("pickle") },
    { path: "MLmodel", sha256: sha("flavors") },
    { path: "sub/b.txt", sha256: sha("b") },
  ];

  it("is the sha256 of the header and one sorted '<sha256>  <path>' line per file (the engine's format)", () => {
    const manifest = `${MANIFEST_HEADER}${sha("flavors")}  MLmodel\n${sha("pickle")}  model.pkl\n${sha("b")}  sub/b.txt\n`;
    expect(manifestDigest(files)).toBe(sha(manifest));
    expect(manifestDigest([...files].reverse())).toBe(manifestDigest(files));
  });

  it.each([
    ["a file's content", [{ ...files[0]!, sha256: sha("other") }, files[1]!, files[2]!]],
    ["a file's name", [{ ...files[0]!, path: "evil.pkl" }, files[1]!, files[2]!]],
    ["a file more", [...files, { path: "extra", sha256: sha("") }]],
    ["a file less", files.slice(1)],
  ])("changes with %s", (_what, changed) => {
    expect(manifestDigest(changed)).not.toBe(manifestDigest(files));
  });
});

describe("artifactPathOf", () => {
  const base = `mlflow-artifacts:/1/${RUN}/artifacts`;
  it.each([
    [`${base}/model`, base, "model"],
    [`${base}/model/`, `${base}/`, "model"],
    [`runs:/${RUN}/model`, base, "model"],
    [`runs:/${RUN}/model`, "", "model"],
    [`mlflow-artifacts:/1/${"f".repeat(32)}/artifacts/model`, base, null],
    ["models:/m-123", base, null],
    [`${base}/../other/model`, base, null],
    [`${base}/`, base, null],
    ["/abs/model", "", null],
  ])("%s in %s -> %s", (source, artifactUri, expected) => {
    expect(artifactPathOf(source, artifactUri, RUN)).toBe(expected);
  });
});
