import ExcelJS from "exceljs";
import { describe, expect, it } from "vitest";
import { sheetNamesOf, xlsxSheetNames } from "./xlsx-sheets.ts";

describe("xlsxSheetNames", () => {
  it("lists a workbook's sheets in tab order, names decoded", async () => {
    const wb = new ExcelJS.Workbook();
    wb.addWorksheet("Sales 2024").addRow(["a"]);
    wb.addWorksheet("Q&A <notes>").addRow(["b"]);
    wb.addWorksheet("third").addRow(["c"]);
    const file = new Blob([new Uint8Array(await wb.xlsx.writeBuffer())]);
    expect(await xlsxSheetNames(file)).toEqual(["Sales 2024", "Q&A <notes>", "third"]);
  });

  it("gives [] for a file that is not a workbook", async () => {
    expect(await xlsxSheetNames(new Blob(["a,b\n1,2\n"]))).toEqual([]);
  });

  it("reads names from workbook.xml whatever the attribute order", () => {
    expect(sheetNamesOf('<sheets><x:sheet r:id="rId2" name="B &amp; C" sheetId="2"/><sheet name="&#x41;"/></sheets>')).toEqual([
      "B & C",
      "A",
    ]);
  });
});
