import { readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { openStoreFixture, type StoreFixture } from "./store.fixture.ts";

/** A CSV export opened in a spreadsheet must not run anything a dataset's text cells hold. */
let f: StoreFixture;
let lines: string[];

const HOSTILE = [
  ['=HYPERLINK("http://evil.example","x")', `"'=HYPERLINK(""http://evil.example"",""x"")"`],
  ["+cmd|' /C calc'!A0", "'+cmd|' /C calc'!A0"],
  ["-2+3", "'-2+3"],
  ["@SUM(A1)", "'@SUM(A1)"],
  ["\tleading tab", "'\tleading tab"],
  ["\rleading return", `"'\rleading return"`],
  ["plain", "plain"],
  ["a=b", "a=b"],
] as const;

beforeAll(async () => {
  f = await openStoreFixture();
  const csv = `label,amount,count\n${HOSTILE.map(([text], i) => `"${text.replaceAll('"', '""')}",${i % 2 ? "-1.5" : "2.25"},${-i}`).join("\n")}\n`;
  const path = join(f.dir, "hostile.csv");
  await writeFile(path, csv);
  await f.store.importFile({ path, name: "hostile" });
  lines = (await readFile(await f.store.exportCsv("hostile", 1), "utf8")).split("\n");
});
afterAll(() => f.close());

describe("CSV export neutralisation", () => {
  it("stored the cells as given (the import keeps them)", async () => {
    const page = await f.store.preview("hostile", 1, { offset: 0, limit: 50 });
    expect(page.rows.map((r) => r[0])).toEqual(HOSTILE.map(([text]) => text));
  });

  it("quotes every text cell that starts with =, +, -, @, tab or carriage return, and only those", () => {
    // A cell with a carriage return spans two physical lines; rejoin the records.
    const records = lines
      .slice(1)
      .join("\n")
      .split(/\n(?=(?:[^"]|"[^"]*")*$)/)
      .filter((l) => l.length > 0);
    expect(records.map((r) => r.slice(0, r.lastIndexOf(",", r.lastIndexOf(",") - 1)))).toEqual(HOSTILE.map(([, out]) => out));
  });

  it("keeps negative numbers in numeric columns as numbers", () => {
    expect(lines[0]).toBe("label,amount,count");
    expect(lines.slice(1, 3).map((l) => l.split(",").slice(-2))).toEqual([
      ["2.25", "0"],
      ["-1.5", "-1"],
    ]);
  });

  it("neutralises a column name that starts like a formula", async () => {
    const path = join(f.dir, "names.csv");
    await writeFile(path, "=cmd,-x,ok\nfine,1,2\n");
    await f.store.importFile({ path, name: "hostile-names" });
    const text = await readFile(await f.store.exportCsv("hostile-names", 1), "utf8");
    expect(text.split("\n")[0]).toBe("'=cmd,'-x,ok");
  });
});
