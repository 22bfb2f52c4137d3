import { mkdir, readdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import ExcelJS from "exceljs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { openStoreFixture, type StoreFixture } from "./store.fixture.ts";

let f: StoreFixture;
beforeAll(async () => {
  f = await openStoreFixture();
});
afterAll(async () => {
  await f.close();
});

const utf8 = (s: string) => Buffer.from(s, "utf8");

/** Deterministic bytes that are neither text nor any known format. */
function garbage(n: number): Buffer {
  const b = Buffer.alloc(n);
  let x = 12345;
  for (let i = 0; i < n; i++) {
    x = (x * 1103515245 + 12345) & 0x7fffffff;
    b[i] = x >> 16;
  }
  return b;
}

async function xlsx(rowsOf: (ws: ExcelJS.Worksheet) => void): Promise<Buffer> {
  const wb = new ExcelJS.Workbook();
  rowsOf(wb.addWorksheet("s"));
  return Buffer.from(await wb.xlsx.writeBuffer());
}

interface Case {
  name: string;
  file: string;
  content: () => Buffer | Promise<Buffer>;
  status: number;
  code: string;
  message: RegExp;
  hint?: RegExp;
}

const cases: Case[] = [
  { name: "0 bytes", file: "empty.csv", content: () => Buffer.alloc(0), status: 422, code: "empty_file", message: /empty \(0 bytes\)/ },
  {
    name: "header only",
    file: "header.csv",
    content: () => utf8("a,b,c\n"),
    status: 422,
    code: "empty_file",
    message: /header row but no data rows/,
  },
  {
    name: "binary garbage",
    file: "garbage.csv",
    content: () => garbage(4000),
    status: 422,
    code: "unreadable_file",
    message: /does not look like a CSV file .*binary/,
  },
  {
    name: "Latin-1 text",
    file: "latin1.csv",
    content: () => Buffer.from("name,city\nAnn,Paris\nJosé,Málaga\n", "latin1"),
    status: 422,
    code: "not_utf8",
    message: /not UTF-8 text: line 3 has the byte 0xE9.*Latin-1 or Windows-1252 .*'é'/,
    hint: /naming its encoding \(windows-1252 covers Latin-1\).*re-save the file as UTF-8/,
  },
  {
    name: "UTF-16 text",
    file: "utf16.csv",
    content: () => Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from("a,b\n1,2\n", "utf16le")]),
    status: 422,
    code: "not_utf8",
    message: /UTF-16/,
    hint: /encoding utf-16/,
  },
  {
    name: "a row with too many fields",
    file: "ragged.csv",
    content: () => utf8("a,b,c\n1,x,2.5\n2,y,3\n3,z,4,9\n4,w,5\n"),
    status: 422,
    code: "ragged_rows",
    message: /^Line 4 has 4 fields, but the header has 3$/,
    hint: /exactly 3 fields/,
  },
  {
    name: "a row with too few fields, far down the file",
    file: "short.csv",
    content: () => utf8(`a,b,c\n${"1,2,3\n".repeat(5000)}1,2\n`),
    status: 422,
    code: "ragged_rows",
    message: /^Line 5002 has 2 fields, but the header has 3$/,
  },
  {
    name: "a ragged TSV row",
    file: "ragged.tsv",
    content: () => utf8("a\tb\n1\t2\n3\t4\t5\n"),
    status: 422,
    code: "ragged_rows",
    message: /^Line 3 has 3 fields, but the header has 2$/,
    hint: /separated by tab/,
  },
  {
    name: "an unclosed quote",
    file: "quote.csv",
    content: () => utf8('a,b\n1,2\n"oops,3\n4,5\n'),
    status: 422,
    code: "invalid_csv",
    message: /Line 3 starts a quoted value/,
  },
  {
    name: "duplicate column names",
    file: "dup.csv",
    content: () => utf8("id,Name,name\n1,a,b\n"),
    status: 422,
    code: "duplicate_column_name",
    message: /'name' twice: at positions 2 and 3/,
  },
  {
    name: "an empty column name",
    file: "noname.csv",
    content: () => utf8("id,,score\n1,a,2\n"),
    status: 422,
    code: "empty_column_name",
    message: /empty column name at position 2/,
  },
  {
    name: "an unsupported extension",
    file: "notes.txt",
    content: () => utf8("a\n1\n"),
    status: 415,
    code: "unsupported_format",
    message: /'\.txt'/,
    hint: /\.csv, \.tsv/,
  },
  {
    name: "malformed JSON",
    file: "bad.json",
    content: () => utf8('[{"a": 1}, {"a": 2'),
    status: 422,
    code: "invalid_json",
    message: /could not be read as a JSON file/,
    hint: /array of objects/,
  },
  {
    name: "a JSON array of numbers",
    file: "numbers.json",
    content: () => utf8("[1, 2, 3]"),
    status: 422,
    code: "invalid_json",
    message: /holds 1 where caretflow expects an object/,
  },
  { name: "an empty JSON array", file: "none.json", content: () => utf8("[]"), status: 422, code: "empty_file", message: /no rows/ },
  {
    name: "duplicate JSON keys differing in case",
    file: "keys.ndjson",
    content: () => utf8('{"a": 1, "A": 2}\n'),
    status: 422,
    code: "duplicate_column_name",
    message: /twice/,
  },
  {
    name: "text named .parquet",
    file: "fake.parquet",
    content: () => utf8("a,b\n1,2\n"),
    status: 422,
    code: "unreadable_file",
    message: /not a Parquet file/,
  },
  {
    name: "a truncated Parquet file",
    file: "cut.parquet",
    content: () => Buffer.concat([utf8("PAR1"), garbage(200)]),
    status: 422,
    code: "unreadable_file",
    message: /not a readable Parquet file/,
  },
  {
    name: "CSV named .xlsx",
    file: "fake.xlsx",
    content: () => utf8("a,b\n1,2\n"),
    status: 422,
    code: "unreadable_file",
    message: /not an Excel \.xlsx workbook/,
  },
  {
    name: "a workbook with only a header",
    file: "header.xlsx",
    content: () => xlsx((ws) => ws.addRow(["a", "b"])),
    status: 422,
    code: "empty_file",
    message: /header row but no data rows/,
  },
  {
    name: "a workbook with a value outside the header",
    file: "stray.xlsx",
    content: () =>
      xlsx((ws) => {
        ws.addRow(["a", "b"]);
        ws.addRow([1, 2]);
        ws.addRow([3, 4, 99]);
      }),
    status: 422,
    code: "ragged_rows",
    message: /Row 3 of the first sheet has a value in column C, but the header row has only 2 columns/,
  },
  {
    name: "a workbook with duplicate headers",
    file: "dup.xlsx",
    content: () =>
      xlsx((ws) => {
        ws.addRow(["a", "a"]);
        ws.addRow([1, 2]);
      }),
    status: 422,
    code: "duplicate_column_name",
    message: /header row of the first sheet has the column name 'a' twice/,
  },
  {
    name: "a CSV that is really a zip",
    file: "zip.csv",
    content: () => xlsx((ws) => ws.addRow(["a"])),
    status: 422,
    code: "wrong_format",
    message: /zip archive/,
  },
];

describe("bad input is refused with a clear error and nothing is stored", () => {
  it.each(cases)("$name", async (c) => {
    const dir = join(f.dir, "in");
    await mkdir(dir, { recursive: true });
    const path = join(dir, c.file);
    await writeFile(path, await c.content());
    const error = await f.store.importFile({ path, name: "bad", filename: c.file }).then(
      () => null,
      (e: unknown) => e,
    );
    expect(error).toMatchObject({ name: "CaretflowError", kind: "user", status: c.status, code: c.code });
    const e = error as { message: string; hint?: string };
    expect(e.message).toMatch(c.message);
    expect(e.hint).toBeTruthy();
    if (c.hint) expect(e.hint).toMatch(c.hint);
    // Nothing stored: no metadata, no Parquet, no temporary file left behind.
    expect(await f.store.list()).toEqual([]);
    expect((await readdir(f.root)).filter((n) => n !== ".tmp")).toEqual([]);
    expect((await readdir(join(f.root, ".tmp"))).filter((n) => n !== "duckdb")).toEqual([]);
  });

  it("a missing file is a 400 naming the path", async () => {
    await expect(f.store.importFile({ path: join(f.dir, "missing.csv"), name: "bad" })).rejects.toMatchObject({
      status: 400,
      code: "file_not_found",
    });
  });
});
