import { describe, expect, it } from "vitest";
import { formatBytes, formatElapsed, formatFields, formatMetric, formatTable, formatTime, formatValue } from "./table.ts";

describe("formatTable", () => {
  it("aligns columns, right-aligns numbers and trims trailing space", () => {
    const text = formatTable(
      [{ header: "NAME" }, { header: "ROWS", right: true }, { header: "NOTE" }],
      [
        ["juice", "1070", ""],
        ["insurance", "1338", "regression"],
      ],
    );
    expect(text.split("\n")).toEqual(["NAME       ROWS  NOTE", "juice      1070", "insurance  1338  regression"]);
  });

  it("cuts long cells with an ellipsis and flattens newlines", () => {
    const text = formatTable([{ header: "A", maxWidth: 5 }, { header: "B" }], [["abcdefgh", "x\ny"]]);
    expect(text.split("\n")[1]).toBe("abcd…  x y");
  });

  it("prints only the header when there are no rows", () => {
    expect(formatTable([{ header: "A" }, { header: "B" }], [])).toBe("A  B");
  });
});

describe("formatFields", () => {
  it("aligns keys", () => {
    expect(
      formatFields([
        ["job", "j1"],
        ["status", "running"],
      ]),
    ).toBe("job:    j1\nstatus: running");
  });
});

describe("value formatting", () => {
  it.each<[number | null | undefined, string]>([
    [0.81234567, "0.8123"],
    [null, "-"],
    [undefined, "-"],
    [Number.NaN, "-"],
    [3, "3"],
    [0, "0.0000"],
    [-12345.678, "-12345.6780"],
  ])("formatMetric(%s) = %s", (v, s) => expect(formatMetric(v)).toBe(s));

  it.each<[number, string]>([
    [0, "00:00"],
    [42_500, "00:42"],
    [187_000, "03:07"],
    [3_723_000, "1:02:03"],
  ])("formatElapsed(%d) = %s", (ms, s) => expect(formatElapsed(ms)).toBe(s));

  it.each<[number, string]>([
    [512, "512 B"],
    [2048, "2.0 KiB"],
    [50 * 1024 * 1024, "50 MiB"],
  ])("formatBytes(%d) = %s", (b, s) => expect(formatBytes(b)).toBe(s));

  it.each<[unknown, string]>([
    [null, "null"],
    [1.23456789, "1.23457"],
    [7, "7"],
    ["CH", "CH"],
    [true, "true"],
  ])("formatValue(%j) = %s", (v, s) => expect(formatValue(v)).toBe(s));

  it("formats times in UTC and passes through what it cannot parse", () => {
    expect(formatTime("2024-05-01T12:03:04.567Z")).toBe("2024-05-01 12:03:04");
    expect(formatTime(null)).toBe("-");
    expect(formatTime("yesterday")).toBe("yesterday");
  });
});
