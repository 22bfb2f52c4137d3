import { CaretflowError } from "@caretflow/contracts";
import { describe, expect, it } from "vitest";
import { canRunTransforms, columnRef, errorLine, insertAt, tableRef } from "./transforms.helpers.ts";

describe("transform helpers", () => {
  it("quotes dataset names that are not plain identifiers, and pins versions", () => {
    expect(tableRef("sales")).toBe("sales");
    expect(tableRef("juice-sales")).toBe('"juice-sales"');
    expect(tableRef("2024.q1")).toBe('"2024.q1"');
    expect(tableRef("sales", 3)).toBe('"sales@3"');
    expect(columnRef("amount")).toBe("amount");
    expect(columnRef("Unit Price")).toBe('"Unit Price"');
  });

  it("reads the line an API error names, and nothing from other errors", () => {
    expect(errorLine(new CaretflowError({ code: "transform_query_invalid", message: "x", details: { line: 3 } }))).toBe(3);
    expect(errorLine(new CaretflowError({ code: "x", message: "x" }))).toBeNull();
    expect(errorLine(new Error("plain"))).toBeNull();
  });

  it("inserts text in place of the selection", () => {
    expect(insertAt("SELECT * FROM ", 14, 14, "sales")).toEqual({ text: "SELECT * FROM sales", caret: 19 });
    expect(insertAt("SELECT x FROM t", 7, 8, "amount")).toEqual({ text: "SELECT amount FROM t", caret: 13 });
  });

  it("lets editors, owners and site admins run transforms, not viewers", () => {
    expect(canRunTransforms("viewer", false)).toBe(false);
    expect(canRunTransforms(undefined, false)).toBe(false);
    expect(canRunTransforms("editor", false)).toBe(true);
    expect(canRunTransforms("owner", false)).toBe(true);
    expect(canRunTransforms(null, true)).toBe(true);
  });
});
