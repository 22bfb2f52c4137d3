import { CaretflowError } from "@caretflow/contracts";
import { describe, expect, it } from "vitest";
import { TRAVERSAL_PATHS } from "../../test/mlflow.payloads.ts";
import {
  checkWriteLocations,
  classifyMlflowRequest,
  isUnderMount,
  mlflowWriteTouches,
  parseMlflowPath,
  upstreamUrl,
} from "./mlflow.policy.ts";

function code(f: () => unknown): string | null {
  try {
    f();
    return null;
  } catch (err) {
    expect(err).toBeInstanceOf(CaretflowError);
    return `${(err as CaretflowError).status} ${(err as CaretflowError).code}`;
  }
}

describe("the /mlflow path check", () => {
  it.each(TRAVERSAL_PATHS)("refuses %s with 400", (path) => {
    expect(isUnderMount(path, "/mlflow")).toBe(true);
    expect(code(() => parseMlflowPath(path, "/mlflow"))).toBe("400 mlflow_bad_path");
  });

  it("passes MLflow's own paths, decoding each segment once, and keeps a trailing slash", () => {
    expect(parseMlflowPath("/mlflow/", "/mlflow")).toEqual([""]);
    expect(parseMlflowPath("/mlflow/ajax-api/2.0/mlflow/runs/search", "/mlflow")).toEqual(["ajax-api", "2.0", "mlflow", "runs", "search"]);
    expect(parseMlflowPath("/mlflow/static-files/a%20b.js", "/mlflow")).toEqual(["static-files", "a b.js"]);
    expect(parseMlflowPath("/mlflow/x/..y/z..", "/mlflow")).toEqual(["x", "..y", "z.."]);
  });

  it("knows which raw paths are under the mount however they are encoded", () => {
    expect(isUnderMount("/mlflow", "/mlflow")).toBe(true);
    expect(isUnderMount("/%6dlflow/x", "/mlflow")).toBe(true);
    expect(isUnderMount("/mlflowx", "/mlflow")).toBe(false);
    expect(isUnderMount("/api/runs", "/mlflow")).toBe(false);
    expect(code(() => parseMlflowPath("/%6dlflow/x", "/mlflow"))).toBe("400 mlflow_bad_path");
  });

  it("builds MLflow's URL under its prefix, a re-encoded segment per segment", () => {
    const u = upstreamUrl("http://127.0.0.1:5000/mlflow", ["a/../../b", "c d"], "?x=1");
    expect(u.href).toBe("http://127.0.0.1:5000/mlflow/a%2F..%2F..%2Fb/c%20d?x=1");
    expect(upstreamUrl("http://127.0.0.1:5000/mlflow/", [""], "").href).toBe("http://127.0.0.1:5000/mlflow/");
  });
});

describe("reads and writes", () => {
  const seg = (p: string) => p.split("/");
  it.each([
    ["GET", "ajax-api/2.0/mlflow/runs/get", "read"],
    ["POST", "ajax-api/2.0/mlflow/runs/search", "read"],
    ["POST", "api/2.0/mlflow/experiments/search", "read"],
    ["POST", "ajax-api/3.0/mlflow/traces/search", "read"],
    ["POST", "graphql", "read"],
    ["GET", "ajax-api/2.0/mlflow-artifacts/artifacts/1/r/artifacts/model.pkl", "read"],
    ["POST", "ajax-api/2.0/mlflow/experiments/create", "write"],
    ["POST", "ajax-api/2.0/mlflow/runs/set-tag", "write"],
    ["POST", "ajax-api/2.0/mlflow/runs/delete", "write"],
    ["POST", "ajax-api/2.0/mlflow/model-versions/create", "write"],
    ["PATCH", "ajax-api/2.0/mlflow/registered-models/update", "write"],
    ["DELETE", "ajax-api/2.0/mlflow/registered-models/alias", "write"],
    ["POST", "ajax-api/2.0/mlflow/runs/search/extra", "write"],
    ["GET", "ajax-api/2.0/mlflow/gateway-proxy", "write"],
    ["PUT", "ajax-api/2.0/mlflow-artifacts/artifacts/1/r/artifacts/x.txt", "artifact_write"],
    ["DELETE", "api/2.0/mlflow-artifacts/artifacts/1/r/artifacts/x.txt", "artifact_write"],
    ["POST", "ajax-api/2.0/mlflow-artifacts/mpu/create/1/r/x", "artifact_write"],
    ["POST", "ajax-api/2.0/mlflow/upload-artifact", "artifact_write"],
    ["POST", "api/2.0/mlflow/artifacts/presigned-upload-url", "artifact_write"],
  ])("%s %s is a %s", (method, path, want) => {
    expect(classifyMlflowRequest(method, seg(path))).toBe(want);
  });

  it.each([
    [{ name: "x", artifact_location: "file:///etc" }, "artifact_location"],
    [{ name: "x", artifact_location: "/etc" }, "artifact_location"],
    [{ name: "m", source: "s3://bucket/model" }, "source"],
    [{ name: "m", source: "mlflow-artifacts:/1/../../../etc" }, "source"],
    [{ name: "m", source: "mlflow-artifacts:/1/%252e%252e/x" }, "source"],
    [{ run: { info: { artifact_uri: "http://evil.example/x" } } }, "run.info.artifact_uri"],
    [{ datasets: [{ dataset: { source: '{"uri": "/etc/passwd"}' } }] }, "datasets[0].dataset.source"],
    [{ storage_location: "file:/tmp" }, "storage_location"],
  ])("refuses a write naming a foreign location: %j", (body, field) => {
    const e = (() => {
      try {
        checkWriteLocations(body);
        return null;
      } catch (err) {
        return err as CaretflowError;
      }
    })();
    expect(e).toMatchObject({ status: 400, code: "mlflow_foreign_location" });
    expect(e?.message).toContain(`'${field}'`);
  });

  it("passes writes that name caretflow's own store, or no location", () => {
    for (const body of [
      { name: "x" },
      { name: "x", artifact_location: "" },
      { name: "m", source: "models:/m-0123", run_id: "abc" },
      { name: "m", source: "mlflow-artifacts:/1/abc/artifacts/model" },
      { name: "m", source: "runs:/abc/model" },
      { run_id: "abc", key: "source", value: "file:///etc" },
    ]) {
      expect(() => checkWriteLocations(body)).not.toThrow();
    }
  });
});

describe("what a write through the proxy touches", () => {
  it.each([
    ["ajax-api/2.0/mlflow/registered-models/alias", { models: true, runs: false }],
    ["api/2.0/mlflow/model-versions/create", { models: true, runs: false }],
    ["ajax-api/2.0/mlflow/runs/log-batch", { models: false, runs: true }],
    ["api/2.0/mlflow/experiments/create", { models: false, runs: true }],
    ["ajax-api/2.0/mlflow/gateway-proxy", { models: false, runs: false }],
    ["ajax-api/2.0/mlflow/registered-modelsX/alias", { models: false, runs: false }],
    ["static-files/registered-models/x", { models: false, runs: false }],
  ])("%s", (path, touched) => {
    expect(mlflowWriteTouches(path.split("/"))).toEqual(touched);
  });
});
