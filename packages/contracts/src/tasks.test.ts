import { describe, expect, it } from "vitest";
import { DaskSchedulerAddress, TrainFields } from "./tasks.ts";

describe("DaskSchedulerAddress", () => {
  it.each([
    ["tcp://127.0.0.1:8786", true],
    ["tcp://scheduler:8786", true],
    ["tls://dask.example.com:8786", true],
    ["tcp://[::1]:8786", true],
    ["tcp://[fe80::1]:1", true],
    ["tcp://host:65535", true],
    ["tcp://host:65536", false],
    ["tcp://host:0", false],
    ["scheduler:8786", false],
    ["http://scheduler:8786", false],
    ["ucx://scheduler:8786", false],
    ["tcp://scheduler", false],
    ["tcp://scheduler:8786/", false],
    ["tcp://user@scheduler:8786", false],
    ["tcp://-bad-:8786", false],
    [" tcp://scheduler:8786", false],
  ])("%s -> %s", (address, ok) => {
    expect(DaskSchedulerAddress.safeParse(address).success).toBe(ok);
  });

  it("is a comparison option of classification and regression only", () => {
    const base = { target: "y", dask_scheduler: "tcp://h:8786" };
    expect(TrainFields.parse({ task: "classification", ...base })).toMatchObject({ dask_scheduler: "tcp://h:8786" });
    expect(TrainFields.parse({ task: "regression", ...base })).toMatchObject({ dask_scheduler: "tcp://h:8786" });
    expect(TrainFields.parse({ task: "clustering", ...base })).not.toHaveProperty("dask_scheduler");
  });
});
