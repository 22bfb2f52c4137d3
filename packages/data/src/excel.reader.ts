import { once } from "node:events";
import { createWriteStream } from "node:fs";
import { finished } from "node:stream/promises";
import { userError } from "@caretflow/contracts";
import ExcelJS from "exceljs";
import { checkColumnNames } from "./column-names.ts";

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

/**
 * Stream the first worksheet of an .xlsx file into an NDJSON file (one object per row, keys in header order),
 * so DuckDB can infer types from it. Row 1 is the header. Memory stays bounded: rows are written as they are read.
 * Returns the header, the number of data rows written, and the columns whose date cells all fall on
 * midnight (a date column, to be stored as DATE rather than TIMESTAMP).
 */
export async function xlsxToNdjson(
  xlsxPath: string,
  ndjsonPath: string,
  onRow?: (rowsDone: number) => void,
): Promise<{ header: string[]; rows: number; dateOnlyColumns: string[] }> {
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
  try {
    let sheetsSeen = 0;
    for await (const sheet of reader) {
      // Only the first worksheet is used. The others are still iterated: exceljs closes a worksheet's
      // stream (sometimes a temporary file) only when it is read to the end, and leaving early leaks it.
      if (sheetsSeen++ > 0) {
        for await (const _row of sheet);
        continue;
      }
      for await (const row of sheet) {
        const values = (row.values as unknown[]) ?? [];
        if (header === null) {
          header = headerFromRow(values, row.number);
          checkColumnNames(header, "The header row of the first sheet");
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
            `Row ${row.number} of the first sheet has a value in column ${columnLetter(extra + 1)}, but the header row has only ${header.length} columns`,
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
    throw userError("empty_file", "The workbook's first sheet is empty", "Put a header row in row 1 and the data below it.", 422);
  }
  const columns = header;
  return { header, rows, dateOnlyColumns: [...hasDate].filter((i) => !hasTime.has(i) && i < columns.length).map((i) => columns[i]!) };
}

function headerFromRow(values: unknown[], rowNumber: number): string[] {
  const cells = values.slice(1).map((v) => {
    const plain = plainCellValue(v);
    return plain === null ? "" : String(plain).trim();
  });
  while (cells.length > 0 && cells[cells.length - 1] === "") cells.pop(); // trailing empty cells are not columns
  if (cells.length === 0) {
    throw userError(
      "empty_header",
      `Row ${rowNumber} of the first sheet (the header) has no column names`,
      "Put the column names in row 1.",
      422,
    );
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
