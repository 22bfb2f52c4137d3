import { describe, expect, it } from "vitest";
import { formatMetric } from "./format.ts";

describe("formatMetric", () => {
  it("prints scores with four fixed decimals, as PyCaret does", () => {
    expect(formatMetric(0.82781)).toBe("0.8278");
    expect(formatMetric(1)).toBe("1.0000");
    expect(formatMetric(0)).toBe("0.0000");
    expect(formatMetric(-0.5)).toBe("-0.5000");
    expect(formatMetric(2.5)).toBe("2.5000");
  });

  it("prints counts without decimals and large values with separators", () => {
    expect(formatMetric(3)).toBe("3");
    expect(formatMetric(1245)).toBe("1,245");
    expect(formatMetric(12_345_678.9)).toBe("12,345,679");
  });

  it("prints a dash for a missing value", () => {
    expect(formatMetric(null)).toBe("—");
    expect(formatMetric(undefined)).toBe("—");
    expect(formatMetric(Number.NaN)).toBe("—");
  });
});
