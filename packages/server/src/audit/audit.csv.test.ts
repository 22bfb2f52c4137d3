import { describe, expect, it } from "vitest";
import { csvCell } from "./audit.csv.ts";

describe("csvCell", () => {
  it.each([
    ["plain", "plain"],
    ["=1+1", "'=1+1"],
    ["+1", "'+1"],
    ["-1", "'-1"],
    ["@SUM(A1)", "'@SUM(A1)"],
    ["\tx", "'\tx"],
    ["\rx", `"'\rx"`],
    ['=HYPERLINK("http://e","x")', `"'=HYPERLINK(""http://e"",""x"")"`],
    ["a,b", '"a,b"'],
    ['say "hi"', '"say ""hi"""'],
    ["line\nbreak", '"line\nbreak"'],
    ["x=1", "x=1"],
    ["", ""],
  ])("%j -> %j", (input, expected) => {
    expect(csvCell(input)).toBe(expected);
  });

  it("writes numbers and nulls as they are", () => {
    expect(csvCell(12)).toBe("12");
    expect(csvCell(null)).toBe("");
  });
});
