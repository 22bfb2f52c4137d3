import { describe, expect, it } from "vitest";
import { parseDatasetVersion } from "./drift.command.ts";

describe("parseDatasetVersion", () => {
  it.each([
    ["juice", { dataset: "juice" }],
    ["juice@3", { dataset: "juice", version: 3 }],
    ["juice-march@v12", { dataset: "juice-march", version: 12 }],
  ])("%s", (value, expected) => {
    expect(parseDatasetVersion(value, "--current")).toEqual(expected);
  });

  it.each(["juice@", "juice@latest", "@2", "a@1@2"])("refuses %s naming the flag", (value) => {
    expect(() => parseDatasetVersion(value, "--reference")).toThrow(/--reference: '.*' is not DATASET or DATASET@VERSION/);
  });
});
