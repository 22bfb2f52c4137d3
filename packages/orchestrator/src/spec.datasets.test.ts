import type { DatasetRef, JobSpec } from "@caretflow/contracts";
import { describe, expect, it } from "vitest";
import { testSpec } from "./executor.contract.ts";
import { specDatasets } from "./spec.datasets.ts";

const juice: DatasetRef = { name: "juice", version: 3, content_hash: "h3", rows: 10 };
const envelope = { v: 1, job_id: "j", tracking_uri: "http://127.0.0.1:1", experiment_name: "e", dataset: juice } as const;

describe("specDatasets", () => {
  it.each<[string, JobSpec, DatasetRef[]]>([
    ["predict reads its input", testSpec("p"), [{ name: "d", version: 1, content_hash: "h", rows: 1 }]],
    ["train reads its dataset", { ...envelope, kind: "train" } as unknown as JobSpec, [juice]],
    ["operate reads its dataset", { ...envelope, kind: "operate" } as unknown as JobSpec, [juice]],
    ["evaluate reads its dataset", { ...envelope, kind: "evaluate" } as unknown as JobSpec, [juice]],
    ["catalog reads none", { v: 1, kind: "catalog", job_id: "c" }, []],
  ])("%s", (_what, spec, expected) => {
    expect(specDatasets(spec)).toEqual(expected);
  });
});
