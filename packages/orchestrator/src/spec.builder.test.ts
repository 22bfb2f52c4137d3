import type { JobSpec } from "@caretflow/contracts";
import { describe, expect, it } from "vitest";
import { withLimits } from "./spec.builder.ts";

const train = { v: 1, kind: "train", job_id: "j", n_jobs: 1, workers: 1 } as unknown as JobSpec;
const predict = { v: 1, kind: "predict", job_id: "j" } as unknown as JobSpec;

describe("withLimits: a pipeline step's resources on its job's spec", () => {
  it("sets the memory limit and the estimators' threads", () => {
    expect(withLimits(train, { memoryMb: 512, cores: 3 })).toMatchObject({ memory_mb: 512, n_jobs: 3 });
  });

  it("shares the cores among a comparison's processes, at least one thread each", () => {
    expect(withLimits({ ...train, workers: 2 } as JobSpec, { cores: 5 })).toMatchObject({ n_jobs: 2 });
    expect(withLimits({ ...train, workers: 4 } as JobSpec, { cores: 2 })).toMatchObject({ n_jobs: 1 });
  });

  it("gives threads only to kinds that train, and leaves a spec without limits as it was", () => {
    expect(withLimits(predict, { memoryMb: 256, cores: 4 })).toEqual({ ...predict, memory_mb: 256 });
    expect(withLimits(train, undefined)).toBe(train);
    expect(withLimits(train, { memoryMb: null, cores: null })).toEqual(train);
  });
});
