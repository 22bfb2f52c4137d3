import { once } from "node:events";
import { createWriteStream } from "node:fs";
import { mkdir, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { finished } from "node:stream/promises";
import { crc32, createDeflateRaw } from "node:zlib";
import { DuckDBInstance } from "@duckdb/node-api";
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

/** A zip archive of the given entries, each deflated (data given as chunks, so a huge entry is never whole in memory). */
async function zipOf(entries: { name: string; chunks: () => Iterable<Buffer> }[]): Promise<Buffer> {
  const parts: Buffer[] = [];
  const central: Buffer[] = [];
  let offset = 0;
  for (const e of entries) {
    const deflate = createDeflateRaw({ level: 9 });
    const out: Buffer[] = [];
    deflate.on("data", (c: Buffer) => out.push(c));
    let crc = 0;
    let size = 0;
    for (const chunk of e.chunks()) {
      crc = crc32(chunk, crc);
      size += chunk.length;
      if (!deflate.write(chunk)) await once(deflate, "drain");
    }
    deflate.end();
    await finished(deflate);
    const data = Buffer.concat(out);
    const name = Buffer.from(e.name);
    const local = Buffer.alloc(30);
    local.writeUInt32LE(0x04034b50, 0);
    local.writeUInt16LE(20, 4);
    local.writeUInt16LE(8, 8);
    local.writeUInt32LE(crc, 14);
    local.writeUInt32LE(data.length, 18);
    local.writeUInt32LE(size, 22);
    local.writeUInt16LE(name.length, 26);
    const dir = Buffer.alloc(46);
    dir.writeUInt32LE(0x02014b50, 0);
    dir.writeUInt16LE(20, 4);
    dir.writeUInt16LE(20, 6);
    dir.writeUInt16LE(8, 10);
    dir.writeUInt32LE(crc, 16);
    dir.writeUInt32LE(data.length, 20);
    dir.writeUInt32LE(size, 24);
    dir.writeUInt16LE(name.length, 28);
    dir.writeUInt32LE(offset, 42);
    parts.push(local, name, data);
    central.push(dir, name);
    offset += local.length + name.length + data.length;
  }
  const dir = Buffer.concat(central);
  const end = Buffer.alloc(22);
  end.writeUInt32LE(0x06054b50, 0);
  end.writeUInt16LE(entries.length, 8);
  end.writeUInt16LE(entries.length, 10);
  end.writeUInt32LE(dir.length, 12);
  end.writeUInt32LE(offset, 16);
  return Buffer.concat([...parts, dir, end]);
}

/** A tiny .xlsx whose sheet XML inflates to `mib` MiB of blanks inside <sheetData>. */
async function xlsxBomb(mib: number): Promise<Buffer> {
  const text = (s: string) => () => [Buffer.from(s)];
  return zipOf([
    {
      name: "[Content_Types].xml",
      chunks: text(
        '<?xml version="1.0" encoding="UTF-8"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"><Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/><Override PartName="/xl/worksheets/sheet1.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/></Types>',
      ),
    },
    {
      name: "xl/workbook.xml",
      chunks: text(
        '<?xml version="1.0" encoding="UTF-8"?><workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships"><sheets><sheet name="s" sheetId="1" r:id="rId1"/></sheets></workbook>',
      ),
    },
    {
      name: "xl/worksheets/sheet1.xml",
      chunks: function* () {
        yield Buffer.from(
          '<?xml version="1.0" encoding="UTF-8"?><worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData>',
        );
        const blanks = Buffer.alloc(1024 * 1024, " ");
        for (let i = 0; i < mib; i++) yield blanks;
        yield Buffer.from("</sheetData></worksheet>");
      },
    },
  ]);
}

/** A real Parquet file (DuckDB writes it) cut off in the middle of its data. */
async function truncatedParquet(): Promise<Buffer> {
  const duck = await DuckDBInstance.create(":memory:");
  const conn = await duck.connect();
  const path = join(f.dir, "whole.parquet");
  try {
    await conn.run(`COPY (SELECT i, i * 1.5 AS x, 'text ' || i AS t FROM range(100000) r(i)) TO '${path}' (FORMAT parquet)`);
  } finally {
    conn.closeSync();
    duck.closeSync();
  }
  const whole = await readFile(path);
  await rm(path);
  return whole.subarray(0, Math.floor(whole.length / 2));
}

/** Write a CSV with one value of `mib` MiB (in the header's first name when `inHeader`), streaming. */
async function csvWithHugeField(path: string, mib: number, inHeader: boolean): Promise<void> {
  const out = createWriteStream(path);
  out.write(inHeader ? "a" : "a,b\n1,");
  const block = Buffer.alloc(1024 * 1024, "x");
  for (let i = 0; i < mib; i++) if (!out.write(block)) await once(out, "drain");
  out.end(inHeader ? ",b\n1,2\n" : "\n2,y\n");
  await finished(out);
}

const corpus: Case[] = [
  {
    name: "a real Parquet file cut off in the middle",
    file: "half.parquet",
    content: truncatedParquet,
    status: 422,
    code: "unreadable_file",
    message: /not a readable Parquet file/,
    hint: /truncated/,
  },
  {
    name: "an .xlsx zip bomb (a 300 kB sheet that inflates to 300 MiB)",
    file: "bomb.xlsx",
    content: () => xlsxBomb(300),
    status: 422,
    code: "zip_bomb",
    message: /xl\/worksheets\/sheet1\.xml inflates to over \d+ times its compressed size.*zip bomb/,
  },
  {
    name: "JSON nested 100,000 levels deep",
    file: "deep.json",
    content: () => utf8(`${"[".repeat(100_000)}${"]".repeat(100_000)}`),
    status: 422,
    code: "json_too_deep",
    message: /more than 1000 levels deep/,
  },
  {
    name: "an NDJSON value nested 100,000 levels deep",
    file: "deep.ndjson",
    content: () => utf8(`{"a": 1}\n{"a": ${"[".repeat(100_000)}${"]".repeat(100_000)}}\n`),
    status: 422,
    code: "json_too_deep",
    message: /more than 1000 levels deep/,
  },
];
cases.push(...corpus);

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

  it.each([
    {
      where: "a data row",
      inHeader: false,
      message: /^Line 2 is 2\d\d MB long; caretflow reads CSV lines \(records\) of at most 2\.0 MB$/,
    },
    { where: "the header", inHeader: true, message: /^Line 1 is over 2\.0 MB long/ },
  ])("a 200 MiB single field in $where is refused (line_too_long) without holding it in memory", async ({ inHeader, message }) => {
    const dir = join(f.dir, "in");
    await mkdir(dir, { recursive: true });
    const path = join(dir, "huge-field.csv");
    await csvWithHugeField(path, 200, inHeader);
    const before = process.memoryUsage().rss;
    const error = await f.store.importFile({ path, name: "bad" }).then(
      () => null,
      (e: unknown) => e,
    );
    expect(error).toMatchObject({ name: "CaretflowError", kind: "user", status: 422, code: "line_too_long" });
    expect((error as Error).message).toMatch(message);
    expect((error as { hint?: string }).hint).toMatch(/quote left open/);
    // DuckDB's own error quotes the line once; nothing holds the field twice over.
    expect(process.memoryUsage().rss - before).toBeLessThan(700 * 1024 * 1024);
    await rm(path);
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
