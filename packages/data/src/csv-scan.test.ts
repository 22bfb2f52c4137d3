import { describe, expect, it } from "vitest";
import { CsvScanner } from "./csv-scan.ts";

function scan(text: string | Uint8Array, delimiter = ",", chunkSize = 3) {
  const bytes = typeof text === "string" ? new TextEncoder().encode(text) : text;
  const s = new CsvScanner(delimiter);
  // Small chunks exercise state carried across chunk boundaries (quotes, CRLF, multi-byte characters).
  for (let i = 0; i < bytes.length; i += chunkSize) s.push(bytes.subarray(i, i + chunkSize));
  return s.end();
}

describe("CsvScanner", () => {
  it.each([
    { name: "regular file", text: "a,b,c\n1,2,3\n4,5,6\n", header: ["a", "b", "c"], records: 2, ragged: null },
    { name: "no final newline", text: "a,b\n1,2", header: ["a", "b"], records: 1, ragged: null },
    { name: "CRLF line ends", text: "a,b\r\n1,2\r\n3,4\r\n", header: ["a", "b"], records: 2, ragged: null },
    {
      name: "too many fields",
      text: "a,b,c\n1,2,3\n1,2,3,4\n",
      header: ["a", "b", "c"],
      records: 2,
      ragged: { line: 3, fields: 4, expected: 3 },
    },
    { name: "too few fields", text: "a,b,c\n1,2\n", header: ["a", "b", "c"], records: 1, ragged: { line: 2, fields: 2, expected: 3 } },
    { name: "quoted delimiter", text: 'a,b\n"x,y",2\n', header: ["a", "b"], records: 1, ragged: null },
    { name: "escaped quote", text: 'a,b\n"say ""hi""",2\n', header: ["a", "b"], records: 1, ragged: null },
    {
      name: "newline inside quotes counts physical lines",
      text: 'a,b\n"multi\nline",2\n3,4,5\n',
      header: ["a", "b"],
      records: 2,
      ragged: { line: 4, fields: 3, expected: 2 },
    },
    { name: "quoted header", text: '"first name",age\nAnn,3\n', header: ["first name", "age"], records: 1, ragged: null },
    { name: "blank lines are skipped", text: "a,b\n\n1,2\n\n", header: ["a", "b"], records: 1, ragged: null },
    {
      name: "tab separated",
      text: "a\tb\n1\t2\n3\n",
      header: ["a", "b"],
      records: 2,
      ragged: { line: 3, fields: 1, expected: 2 },
      delimiter: "\t",
    },
  ])("$name", ({ text, header, records, ragged, delimiter }) => {
    const report = scan(text, delimiter ?? ",");
    expect(report.header).toEqual(header);
    expect(report.dataRecords).toBe(records);
    expect(report.ragged).toEqual(ragged);
    expect(report.invalidUtf8).toBeNull();
  });

  it("finds the first byte that is not UTF-8, with its line", () => {
    const bytes = new Uint8Array([...new TextEncoder().encode("name,city\nJos"), 0xe9, ...new TextEncoder().encode(",Paris\n")]);
    expect(scan(bytes).invalidUtf8).toEqual({ line: 2, offset: 13, byte: 0xe9 });
  });

  it("accepts multi-byte UTF-8 split across chunks", () => {
    const report = scan("name,city\nJosé,München 🦆\n", ",", 1);
    expect(report.invalidUtf8).toBeNull();
    expect(report.ragged).toBeNull();
  });

  it("reports a quote that is never closed", () => {
    expect(scan('a,b\n1,2\n"open,3\n4,5\n').unterminatedQuote).toEqual({ line: 3 });
  });
});
