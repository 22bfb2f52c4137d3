import { mkdir, readdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { openStoreFixture, type StoreFixture } from "./store.fixture.ts";

const SPAM = join(import.meta.dirname, "..", "..", "..", "demo-data", "spam.csv");

let f: StoreFixture;
let dir: string;
beforeAll(async () => {
  f = await openStoreFixture();
  dir = join(f.dir, "in");
  await mkdir(dir, { recursive: true });
});
afterAll(async () => {
  await f.close();
});

async function file(name: string, content: Buffer): Promise<string> {
  const path = join(dir, name);
  await writeFile(path, content);
  return path;
}

const refused = (p: Promise<unknown>) =>
  p.then(
    () => null,
    (e: unknown) => e as { code: string; status: number; message: string; hint?: string },
  );

describe("text files in other encodings than UTF-8", () => {
  it("imports spam.csv (Windows-1252, as pycaret/datasets ships it) when told its encoding", async () => {
    const plain = await refused(f.store.importFile({ path: SPAM, name: "spam" }));
    expect(plain).toMatchObject({ code: "not_utf8", status: 422 });
    expect(plain?.hint).toMatch(/encoding \(windows-1252 covers Latin-1\).*--encoding/);

    const { created, version } = await f.store.importFile({ path: SPAM, name: "spam", filename: "spam.csv", encoding: "latin1" });
    expect(created).toBe(true);
    expect(version).toMatchObject({ rowCount: 5572, columnCount: 2, source: { kind: "file", format: "csv", encoding: "windows-1252" } });
    expect(version.columns.map((c) => [c.name, c.kind])).toEqual([
      ["label", "string"],
      ["text", "string"],
    ]);
    const page = await f.store.preview("spam", 1, { offset: 0, limit: 200 });
    const texts = page.rows.map((r) => String(r[1]));
    // 0xA3 is the pound sign in Latin-1 and Windows-1252
    expect(texts.some((t) => /£\d/.test(t))).toBe(true);
    expect(texts.join("")).not.toContain("\uFFFD");
  });

  it("decodes to the same content as the UTF-8 file, so re-importing it makes no new version", async () => {
    const text = "name,city\nAnn,Paris\nJosé,Málaga\nZoë,Besançon – “centre”\n";
    const utf8 = await file("cities-utf8.csv", Buffer.from(text, "utf8"));
    const cp1252 = await file("cities-1252.csv", windows1252(text));
    const first = await f.store.importFile({ path: utf8, name: "cities" });
    expect(first.version.source.encoding).toBeUndefined();
    const again = await f.store.importFile({ path: cp1252, name: "cities", encoding: "windows-1252" });
    expect(again.created).toBe(false);
    expect((await f.store.preview("cities", 1, { offset: 0, limit: 5 })).rows).toEqual([
      ["Ann", "Paris"],
      ["José", "Málaga"],
      ["Zoë", "Besançon – “centre”"],
    ]);
  });

  it("reads UTF-16 with a byte-order mark when told", async () => {
    const path = await file("wide.csv", Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from("a,b\n1,ü\n", "utf16le")]));
    expect(await refused(f.store.importFile({ path, name: "wide" }))).toMatchObject({ code: "not_utf8" });
    const { version } = await f.store.importFile({ path, name: "wide", encoding: "utf-16" });
    expect(version.source.encoding).toBe("utf-16le");
    expect((await f.store.preview("wide", 1, { offset: 0, limit: 5 })).rows).toEqual([[1, "ü"]]);
  });

  it("refuses an unknown label and an encoding for a binary format, leaving nothing behind", async () => {
    const csv = await file("x.csv", Buffer.from("a\n1\n"));
    const unknown = await refused(f.store.importFile({ path: csv, name: "x", encoding: "klingon-8" }));
    expect(unknown).toMatchObject({ code: "unknown_encoding", status: 422 });
    expect(unknown?.message).toContain("'klingon-8'");
    expect(unknown?.hint).toMatch(/windows-1252/);
    const parquet = await file("x.parquet", Buffer.from("PAR1"));
    expect(await refused(f.store.importFile({ path: parquet, name: "x", encoding: "latin1" }))).toMatchObject({
      code: "encoding_not_applicable",
      status: 422,
    });
    expect(await refused(f.store.importFile({ path: join(dir, "missing.csv"), name: "x", encoding: "latin1" }))).toMatchObject({
      code: "file_not_found",
      status: 400,
    });
    expect((await readdir(join(f.root, ".tmp"))).filter((n) => n !== "duckdb")).toEqual([]);
  });
});

/** Windows-1252 bytes for the characters these tests use (Node decodes it but does not encode it). */
function windows1252(text: string): Buffer {
  const extra: Record<string, number> = { "–": 0x96, "“": 0x93, "”": 0x94 };
  return Buffer.from(
    [...text].map((ch) => {
      const code = extra[ch] ?? ch.codePointAt(0)!;
      if (code > 0xff) throw new Error(`no Windows-1252 byte for ${ch} in this test`);
      return code;
    }),
  );
}
