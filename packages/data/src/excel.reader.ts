import { once } from "node:events";
import { createWriteStream } from "node:fs";
import { finished } from "node:stream/promises";
import { userError } from "@caretflow/contracts";
import ExcelJS from "exceljs";
import { checkColumnNames } from "./column-names.ts";
import { readZipEntry } from "./zip-check.ts";

/** A cell value as exceljs's streaming reader gives it, reduced to what a table cell can hold. */
export type CellValue = string | number | boolean | null;

/**
 * Reduce an exceljs cell value to a plain value: formulas give their cached result, rich text and
 * hyperlinks their text, error cells (#N/A...) null, dates "YYYY-MM-DD HH:MM:SS[.fff]" (UTC,
 * as Excel stores wall-clock time). Pure.
 */
export function plainCellValue(value: unknown): CellValue {
  if (value === null || value === undefined) return null;
  if (typeof value === "string") return value;
  if (typeof value === "number") return Number.isFinite(value) ? value : null;
  if (typeof value === "boolean") return value;
  if (value instanceof Date) return excelDateText(value);
  if (typeof value === "object") {
    const v = value as Record<string, unknown>;
    if ("error" in v) return null;
    if ("result" in v) return plainCellValue(v.result);
    if ("formula" in v || "sharedFormula" in v) return null; // a formula never calculated has no value
    if (Array.isArray(v.richText)) return v.richText.map((part: { text?: string }) => part.text ?? "").join("");
    if ("text" in v) return plainCellValue(v.text);
  }
  return String(value);
}

/** "YYYY-MM-DD HH:MM:SS[.fff]", always with a time, so one column's dates all parse as TIMESTAMP. */
export function excelDateText(date: Date): string {
  if (Number.isNaN(date.getTime())) return "";
  const iso = date.toISOString(); // 2024-01-31T12:34:56.789Z
  const ms = iso.slice(20, 23);
  return `${iso.slice(0, 10)} ${iso.slice(11, 19)}${ms === "000" ? "" : `.${ms}`}`;
}

/** A worksheet as the workbook lists it: its name and the number N of its part xl/worksheets/sheetN.xml. */
export interface SheetRef {
  name: string;
  part: number;
}

/**
 * The worksheets of an .xlsx workbook in the order Excel shows their tabs, read from xl/workbook.xml and
 * its relationships (not from the order of the parts in the zip). [] when the workbook does not say.
 */
export async function workbookSheets(xlsxPath: string): Promise<SheetRef[]> {
  const workbook = (await readZipEntry(xlsxPath, "xl/workbook.xml"))?.toString("utf8");
  const rels = (await readZipEntry(xlsxPath, "xl/_rels/workbook.xml.rels"))?.toString("utf8");
  if (!workbook || !rels) return [];
  const targets = new Map<string, number>();
  for (const [, attrs] of rels.matchAll(/<(?:\w+:)?Relationship\b([^>]*)>/g)) {
    const a = xmlAttributes(attrs ?? "");
    const part = /worksheets\/sheet(\d+)\.xml$/.exec(a.Target ?? "")?.[1];
    if (a.Id && part) targets.set(a.Id, Number(part));
  }
  const sheets: SheetRef[] = [];
  for (const [, attrs] of workbook.matchAll(/<(?:\w+:)?sheet\b([^>]*)>/g)) {
    const a = xmlAttributes(attrs ?? "");
    const id = Object.entries(a).find(([k]) => k === "r:id" || k.endsWith(":id"))?.[1];
    const part = id ? targets.get(id) : undefined;
    if (a.name !== undefined && part !== undefined) sheets.push({ name: a.name, part });
  }
  return sheets;
}

function xmlAttributes(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [, key, value] of text.matchAll(/([\w:.-]+)\s*=\s*"([^"]*)"/g)) out[key!] = unescapeXml(value!);
  return out;
}

function unescapeXml(text: string): string {
  return text.replace(/&(lt|gt|quot|apos|amp|#\d+|#x[0-9a-fA-F]+);/g, (_m, e: string) => {
    if (e === "lt") return "<";
    if (e === "gt") return ">";
    if (e === "quot") return '"';
    if (e === "apos") return "'";
    if (e === "amp") return "&";
    return String.fromCodePoint(e.startsWith("#x") ? Number.parseInt(e.slice(2), 16) : Number(e.slice(1)));
  });
}

/**
 * Stream one worksheet (`sheet`, by name; the first tab by default) of an .xlsx file into an NDJSON file (one object per row, keys in header order),
 * so DuckDB can infer types from it. Row 1 is the header. Memory stays bounded: rows are written as they are read.
 * Returns the header, the number of data rows written, and the columns whose date cells all fall on
 * midnight (a date column, to be stored as DATE rather than TIMESTAMP).
 */
export async function xlsxToNdjson(
  xlsxPath: string,
  ndjsonPath: string,
  onRow?: (rowsDone: number) => void,
  sheet?: string,
): Promise<{ header: string[]; rows: number; dateOnlyColumns: string[]; sheet?: string }> {
  const sheets = await workbookSheets(xlsxPath);
  const chosen = sheet === undefined ? sheets[0] : sheets.find((s) => s.name === sheet);
  if (sheet !== undefined && !chosen) {
    const names = sheets.map((s) => `'${s.name}'`).join(", ");
    throw userError(
      "sheet_not_found",
      `The workbook has no sheet named '${sheet}'; ${sheets.length === 0 ? "its sheets could not be listed" : `its sheets are ${names}`}`,
      "Name one of the workbook's sheets (the form field 'sheet', or caretflow datasets import --sheet NAME), exactly as its tab shows it; leave it out for the first sheet.",
      422,
      { sheets: sheets.map((s) => s.name) },
    );
  }
  const label = sheet === undefined ? "the first sheet" : `sheet '${sheet}'`;
  const reader = new ExcelJS.stream.xlsx.WorkbookReader(xlsxPath, {
    worksheets: "emit",
    sharedStrings: "cache",
    styles: "cache", // needed to tell date cells from numbers
    hyperlinks: "ignore",
    entries: "emit",
  });
  // exceljs looks up sheet names in workbook.xml's model as soon as it meets a worksheet entry; when the zip
  // holds the worksheet before workbook.xml that model does not exist yet and it throws. Start with an empty one.
  Object.assign(reader, { model: { sheets: [] } });
  const out = createWriteStream(ndjsonPath, { encoding: "utf8" });
  // Without a listener, a write still in flight when a bad row destroys the stream would surface as an
  // uncaught exception and take the whole process down. Errors are kept and reported below instead.
  let writeError: Error | null = null;
  out.on("error", (err) => {
    writeError ??= err;
  });
  let header: string[] | null = null;
  let rows = 0;
  const hasDate = new Set<number>();
  const hasTime = new Set<number>();
  // exceljs announces each worksheet part (its N) just before it hands over the worksheet's reader.
  let part = -1;
  (reader as unknown as NodeJS.EventEmitter).on("entry", (entry: { type?: string; id?: string }) => {
    if (entry.type === "worksheet") part = Number(entry.id);
  });
  try {
    let sheetsSeen = 0;
    let done = false;
    for await (const ws of reader) {
      // Only the chosen worksheet is used (the first met when the workbook lists none). The others are still
      // iterated: exceljs closes a worksheet's stream (sometimes a temporary file) only when it is read to the end.
      const wanted = chosen ? part === chosen.part : sheetsSeen === 0;
      sheetsSeen++;
      if (done || !wanted) {
        for await (const _row of ws);
        continue;
      }
      done = true;
      for await (const row of ws) {
        const values = (row.values as unknown[]) ?? [];
        if (header === null) {
          header = headerFromRow(values, row.number, label);
          checkColumnNames(header, `The header row of ${label}`);
          continue;
        }
        const raw = values.slice(1);
        raw.forEach((v, i) => {
          if (!(v instanceof Date)) return;
          hasDate.add(i);
          if (v.getTime() % 86_400_000 !== 0) hasTime.add(i);
        });
        const cells = raw.map(plainCellValue);
        if (cells.every((c) => c === null || c === "")) continue; // blank rows carry no data
        const extra = cells.findIndex((c, i) => i >= header!.length && c !== null && c !== "");
        if (extra >= 0) {
          throw userError(
            "ragged_rows",
            `Row ${row.number} of ${label} has a value in column ${columnLetter(extra + 1)}, but the header row has only ${header.length} columns`,
            `Give column ${columnLetter(extra + 1)} a name in row 1, or delete the stray value, then import again.`,
            422,
          );
        }
        const record: Record<string, CellValue> = {};
        header.forEach((name, i) => {
          record[name] = cells[i] ?? null;
        });
        if (!out.write(`${JSON.stringify(record)}\n`)) await once(out, "drain");
        rows++;
        if (rows % 10_000 === 0) onRow?.(rows);
      }
    }
  } catch (error) {
    out.destroy();
    if (error instanceof Error && error.name === "CaretflowError") throw error;
    throw userError(
      "unreadable_file",
      `The file is not a readable Excel workbook: ${error instanceof Error ? error.message : String(error)}`,
      "Open it in Excel or LibreOffice and save it again as .xlsx (Excel Workbook), or export the sheet as CSV UTF-8.",
      422,
    );
  }
  out.end();
  // finished() settles even when the stream already failed, where waiting for "finish" would hang.
  await finished(out);
  if (writeError) throw writeError;
  if (header === null) {
    throw userError(
      "empty_file",
      sheet === undefined ? "The workbook's first sheet is empty" : `The workbook's sheet '${sheet}' is empty`,
      "Put a header row in row 1 and the data below it.",
      422,
    );
  }
  const columns = header;
  return {
    ...(chosen ? { sheet: chosen.name } : {}),
    header,
    rows,
    dateOnlyColumns: [...hasDate].filter((i) => !hasTime.has(i) && i < columns.length).map((i) => columns[i]!),
  };
}

function headerFromRow(values: unknown[], rowNumber: number, label: string): string[] {
  const cells = values.slice(1).map((v) => {
    const plain = plainCellValue(v);
    return plain === null ? "" : String(plain).trim();
  });
  while (cells.length > 0 && cells[cells.length - 1] === "") cells.pop(); // trailing empty cells are not columns
  if (cells.length === 0) {
    throw userError("empty_header", `Row ${rowNumber} of ${label} (the header) has no column names`, "Put the column names in row 1.", 422);
  }
  return cells;
}

/** Excel column letter for a 1-based index: 1 -> A, 27 -> AA. */
export function columnLetter(index: number): string {
  let n = index;
  let s = "";
  while (n > 0) {
    const r = (n - 1) % 26;
    s = String.fromCharCode(65 + r) + s;
    n = Math.floor((n - 1) / 26);
  }
  return s;
}
