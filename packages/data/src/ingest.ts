import { open, readFile, rm, stat } from "node:fs/promises";
import { join } from "node:path";
import { type CaretflowError, type ColumnSchema, type SourceFormat, userError } from "@caretflow/contracts";
import type { DuckDBConnection } from "@duckdb/node-api";
import { columnKindOf } from "./column-kind.ts";
import { checkColumnNames } from "./column-names.ts";
import { MAX_RECORD_BYTES, scanCsvFile, scanCsvHeader } from "./csv-scan.ts";
import { describeQuery, duckdbReason, PARQUET_WRITE_OPTIONS, sqlIdent, sqlString } from "./duckdb.ts";
import { xlsxToNdjson } from "./excel.reader.ts";
import { findDeepNesting, MAX_JSON_DEPTH } from "./json-depth.ts";
import { PhaseTimer } from "./phases.ts";
import { type Sniffed, sniffBytes } from "./sniff.ts";
import { canonicalEncoding, encodingProblem, transcodeToUtf8 } from "./transcode.ts";
import { checkZipInflation } from "./zip-check.ts";

export type ProgressFn = (p: { stage: string; done?: number; total?: number }) => void;

export interface IngestOptions {
  conn: DuckDBConnection;
  /** The file to read. */
  path: string;
  format: SourceFormat;
  /** Parquet file to write (must not exist; the caller owns its cleanup on failure). */
  target: string;
  /** Folder for intermediate files (Excel is converted to NDJSON first, text in other encodings to UTF-8). */
  workDir: string;
  /** The text file's encoding, a WHATWG label (windows-1252, latin1, shift_jis...); UTF-8 when omitted. */
  encoding?: string;
  onProgress?: ProgressFn;
  /** An .xlsx workbook's sheet to read, by name (default: the first tab). */
  sheet?: string;
  /** Adds each phase's wall time (decode, check, schema, copy, count). */
  timer?: PhaseTimer;
}

/**
 * Read a source file with DuckDB and write it as one Parquet file; return its schema, row count and
 * the encoding the text was decoded from when it was not UTF-8.
 */
export async function ingestToParquet(
  opts: IngestOptions,
): Promise<{ columns: ColumnSchema[]; rowCount: number; encoding?: string; sheet?: string }> {
  const { conn, format, target } = opts;
  const timer = opts.timer ?? new PhaseTimer();
  const encoding = opts.encoding ? canonicalEncoding(opts.encoding) : "utf-8";
  const problem = encoding === "utf-8" ? null : encodingProblem(format, encoding);
  if (problem) throw problem;
  if (opts.sheet !== undefined && format !== "xlsx") {
    throw userError(
      "sheet_not_applicable",
      `A sheet ('${opts.sheet.slice(0, 100)}') only applies to Excel workbooks, not to ${formatLabel(format)}`,
      "Leave the sheet out for this file.",
      422,
    );
  }
  let path = opts.path;
  let delimiter = format === "tsv" ? "\t" : ",";
  let tempNdjson: string | null = null;
  let tempUtf8: string | null = null;
  let dateOnly = new Set<string>();
  let sheet: string | undefined;
  try {
    if (encoding !== "utf-8") {
      await fileSize(path);
      opts.onProgress?.({ stage: "decoding" });
      tempUtf8 = join(opts.workDir, `utf8-${process.pid}-${Date.now()}-${Math.random().toString(36).slice(2)}.${format}`);
      const utf8 = tempUtf8;
      await timer.time("decode", () => transcodeToUtf8(opts.path, utf8, encoding));
      path = tempUtf8;
    }
    const checkStart = performance.now();
    await checkFileLooksRight(path, format);
    opts.onProgress?.({ stage: "reading" });
    let readPath = path;
    if (format === "xlsx") {
      await checkZipInflation(path);
      tempNdjson = join(opts.workDir, `xlsx-${process.pid}-${Date.now()}-${Math.random().toString(36).slice(2)}.ndjson`);
      const {
        rows,
        dateOnlyColumns,
        sheet: read,
      } = await xlsxToNdjson(path, tempNdjson, (done) => opts.onProgress?.({ stage: "reading", done }), opts.sheet);
      if (rows === 0) throw noRows(format);
      sheet = read;
      dateOnly = new Set(dateOnlyColumns);
      readPath = tempNdjson;
    } else if (format === "csv" || format === "tsv") {
      delimiter = await chooseDelimiter(path, format);
      const head = await scanCsvHeader(path, delimiter);
      if (head.longRecord) throw lineTooLong(head.longRecord);
      checkColumnNames(head.header);
    } else if (format === "json" || format === "ndjson") {
      const deep = await findDeepNesting(path);
      if (deep) {
        throw userError(
          "json_too_deep",
          `The JSON nests arrays or objects more than ${MAX_JSON_DEPTH} levels deep (at byte ${deep.offset})`,
          "caretflow reads one object per row whose values are plain values (lists and objects inside are kept as text); flatten the data, then import again.",
          422,
          deep,
        );
      }
    }
    timer.add("check", performance.now() - checkStart);

    if (format === "csv" || format === "tsv") {
      await copyDelimited(conn, { path, readPath, format, delimiter, target, timer, onProgress: opts.onProgress });
    } else {
      await copyOther(conn, {
        path,
        readPath,
        format: format === "xlsx" ? "ndjson" : format,
        original: format,
        target,
        timer,
        dateOnly,
        onProgress: opts.onProgress,
      });
    }
  } finally {
    if (tempNdjson) await rm(tempNdjson, { force: true });
    if (tempUtf8) await rm(tempUtf8, { force: true });
  }

  const { columns, rowCount } = await timer.time("count", () => describeStored(conn, target));
  if (rowCount === 0) throw noRows(format);
  return { columns, rowCount, ...(encoding === "utf-8" ? {} : { encoding }), ...(sheet !== undefined ? { sheet } : {}) };
}

/**
 * CSV/TSV to Parquet in one read of the file: types come from DuckDB's sniffer on a sample (its default
 * 20,480 rows), and the copy reads with them. The result must equal what inference over every row gives,
 * so the slower path (sniff every row, then copy) runs instead when a column is empty in the sample (its
 * type is unknown there) and when the copy meets a value that does not fit a sampled type (a word in a
 * numeric column on row 30,000, a date in another format, yes in a true/false column).
 */
async function copyDelimited(
  conn: DuckDBConnection,
  o: {
    path: string;
    readPath: string;
    format: "csv" | "tsv";
    delimiter: string;
    target: string;
    timer: PhaseTimer;
    onProgress: ProgressFn | undefined;
  },
): Promise<void> {
  const { readPath, delimiter, target, timer } = o;
  let sampled: SniffedCsv | null;
  try {
    sampled = await timer.time("schema", async () => {
      const sample = await sniffCsv(conn, readPath, delimiter, SNIFF_SAMPLE_ROWS);
      return (await emptyInSample(conn, readPath, delimiter, sample)) ? null : sample;
    });
  } catch (error) {
    throw await explainReadFailure(error, o.path, o.format, delimiter);
  }
  o.onProgress?.({ stage: "writing" });
  if (sampled) {
    try {
      await timer.time("copy", () => copyWithTypes(conn, readPath, o.format, delimiter, sampled, target));
      return;
    } catch (error) {
      if (error instanceof Error && error.name === "CaretflowError") throw error;
      // A value the sample did not show: infer from every row and copy again (errors are explained there).
      await rm(target, { force: true });
    }
  }
  let sniffed: SniffedCsv;
  try {
    sniffed = await timer.time("schema", () => sniffCsv(conn, readPath, delimiter, -1));
    await timer.time("copy", () => copyWithTypes(conn, readPath, o.format, delimiter, sniffed, target));
  } catch (error) {
    throw await explainReadFailure(error, o.path, o.format, delimiter);
  }
}

/** Rows DuckDB's sniffer samples by default; the fast path sniffs this many. */
const SNIFF_SAMPLE_ROWS = 20_480;

/**
 * Whether a column the sample typed as text has no value in the sample's rows: every-row inference could
 * give it a number or date type, so the sample cannot decide it.
 */
async function emptyInSample(conn: DuckDBConnection, path: string, delimiter: string, sniffed: SniffedCsv): Promise<boolean> {
  const text = sniffed.columns.filter((c) => c.type === "VARCHAR");
  if (text.length === 0) return false;
  const all = sniffed.columns.map((c) => `${sqlString(c.name)}: 'VARCHAR'`).join(", ");
  const raw = `read_csv(${sqlString(path)}, ${csvDialect(delimiter)}, strict_mode = true, null_padding = false, auto_detect = false, columns = {${all}})`;
  const counts = text.map((c) => `count(${sqlIdent(c.name)})`).join(", ");
  const row = (await conn.runAndReadAll(`SELECT ${counts} FROM (SELECT * FROM ${raw} LIMIT ${SNIFF_SAMPLE_ROWS})`)).getRowsJS()[0] ?? [];
  return row.some((n) => Number(n) === 0);
}

/**
 * COPY a delimited file with known types. BOOLEAN columns are read as text and turned into booleans by the
 * copy, which stops at the first value that is not true/false; then the columns are checked and the ones
 * holding other values (yes/no, t/f) are copied again as text.
 */
async function copyWithTypes(
  conn: DuckDBConnection,
  readPath: string,
  format: "csv" | "tsv",
  delimiter: string,
  sniffed: SniffedCsv,
  target: string,
): Promise<void> {
  const booleans = sniffed.columns.filter((c) => c.type === "BOOLEAN").map((c) => c.name);
  const source = sourceSql(format, readPath, { delimiter, detected: withTextColumns(sniffed, booleans) });
  const select = sniffed.columns
    .map((c) => (booleans.includes(c.name) ? `${strictBoolean(sqlIdent(c.name))} AS ${sqlIdent(c.name)}` : sqlIdent(c.name)))
    .join(", ");
  try {
    await conn.run(`COPY (SELECT ${select} FROM ${source}) TO ${sqlString(target)} (${PARQUET_WRITE_OPTIONS})`);
  } catch (error) {
    if (booleans.length === 0 || !String((error as Error)?.message).includes(NOT_BOOLEAN)) throw error;
    await rm(target, { force: true });
    const text = await booleansToKeepAsText(conn, readPath, delimiter, sniffed.columns);
    const retry = sourceSql(format, readPath, { delimiter, detected: withTextColumns(sniffed, text) });
    const columns = sniffed.columns.map((c) => sqlIdent(c.name)).join(", ");
    await conn.run(`COPY (SELECT ${columns} FROM ${retry}) TO ${sqlString(target)} (${PARQUET_WRITE_OPTIONS})`);
  }
}

function withTextColumns(s: SniffedCsv, text: readonly string[]): SniffedCsv {
  return { ...s, columns: s.columns.map((c) => (text.includes(c.name) ? { ...c, type: "VARCHAR" } : c)) };
}

/** Parquet, JSON, NDJSON (and Excel, converted to NDJSON) to Parquet: describe, then copy. */
async function copyOther(
  conn: DuckDBConnection,
  o: {
    path: string;
    readPath: string;
    format: "parquet" | "json" | "ndjson";
    original: SourceFormat;
    target: string;
    timer: PhaseTimer;
    dateOnly: ReadonlySet<string>;
    onProgress: ProgressFn | undefined;
  },
): Promise<void> {
  const { readPath, format, timer } = o;
  const source = sourceSql(format, readPath);
  let described: { name: string; type: string }[] = [];
  try {
    await timer.time("schema", async () => {
      described = await describeQuery(conn, `SELECT * FROM ${source}`);
      // DuckDB renames a key that differs from another only in case ("A" -> "A_1"); check the keys as written.
      if (o.original === "json" || o.original === "ndjson")
        checkColumnNames(await jsonKeys(conn, format as "json" | "ndjson", readPath), "The JSON data");
    });
  } catch (error) {
    throw await explainReadFailure(error, o.path, o.original, ",");
  }
  if (format === "parquet") {
    // pandas writes its row index as "__index_level_0__" when the index is not a plain range; it is not data.
    described = described.filter((c) => !/^__index_level_\d+__$/.test(c.name));
    checkColumnNames(described.map((c) => c.name));
  }
  // Mixed JSON values (a number here, a string there) come back as DuckDB's JSON type; store them as text.
  // Excel date cells with no time of day are dates.
  const select = described
    .map((c) => {
      const id = sqlIdent(c.name);
      if (c.type === "JSON") return `(${id} ->> '$') AS ${id}`;
      if (c.type === "TIMESTAMP" && o.dateOnly.has(c.name)) return `CAST(${id} AS DATE) AS ${id}`;
      return id;
    })
    .join(", ");
  try {
    o.onProgress?.({ stage: "writing" });
    await timer.time("copy", () => conn.run(`COPY (SELECT ${select} FROM ${source}) TO ${sqlString(o.target)} (${PARQUET_WRITE_OPTIONS})`));
  } catch (error) {
    throw await explainReadFailure(error, o.path, o.original, ",");
  }
}

/** The schema (names, kinds, DuckDB types, nullability) and row count of a written Parquet file. */
export async function describeStored(conn: DuckDBConnection, target: string): Promise<{ columns: ColumnSchema[]; rowCount: number }> {
  const stored = await describeQuery(conn, `SELECT * FROM read_parquet(${sqlString(target)})`);
  const counts = await conn.runAndReadAll(
    `SELECT count(*)${stored.map((c) => `, count(${sqlIdent(c.name)})`).join("")} FROM read_parquet(${sqlString(target)})`,
  );
  const [total, ...nonNull] = (counts.getRowsJS()[0] ?? []).map((v) => Number(v));
  const rowCount = total ?? 0;
  const columns = stored.map((c, i) => ({
    name: c.name,
    kind: columnKindOf(c.type),
    duckdbType: c.type,
    nullable: (nonNull[i] ?? 0) < rowCount,
  }));
  return { columns, rowCount };
}

/**
 * TSV is tab-separated. A .csv file is comma-separated, except that a header with semicolons and no comma
 * means a semicolon-separated file (what Excel writes where the decimal separator is a comma).
 */
async function chooseDelimiter(path: string, format: "csv" | "tsv"): Promise<string> {
  if (format === "tsv") return "\t";
  const { header } = await scanCsvHeader(path, ",");
  return header.length === 1 && header[0]!.includes(";") ? ";" : ",";
}

/** A record (line) longer than DuckDB's CSV reader takes: refused, with its size. */
function lineTooLong(at: { line: number; bytes: number }): CaretflowError {
  const mb = (n: number) => `${(n / 1_000_000).toFixed(n >= 10_000_000 ? 0 : 1)} MB`;
  return userError(
    "line_too_long",
    `Line ${at.line} is ${at.bytes > MAX_RECORD_BYTES ? mb(at.bytes) : `over ${mb(MAX_RECORD_BYTES)}`} long; caretflow reads CSV lines (records) of at most ${mb(MAX_RECORD_BYTES)}`,
    "Check that line: a quote left open makes the rest of the file one value. Very long text values (documents, images as text) belong in separate files; keep a reference to them in the CSV.",
    422,
    at,
  );
}

/**
 * The CSV dialect, fixed rather than sniffed: the sniffer may otherwise take a later line as the header
 * (skipping the lines above it) or treat lines starting with '#' as comments, silently dropping rows.
 */
function csvDialect(delimiter: string): string {
  return `header = true, delim = ${sqlString(delimiter)}, quote = '"', escape = '"', skip = 0, comment = '', encoding = 'utf-8'`;
}

/**
 * The DuckDB table function that reads a file of the given format, with explicit options. Pure.
 * `textColumns` (CSV/TSV) are read as VARCHAR whatever the type sniffer thinks.
 */
export function sourceSql(
  format: Exclude<SourceFormat, "xlsx">,
  path: string,
  opts: { delimiter?: string; textColumns?: readonly string[]; detected?: SniffedCsv } = {},
): string {
  const textColumns = opts.textColumns ?? [];
  const p = sqlString(path);
  switch (format) {
    case "csv":
    case "tsv": {
      const dialect = csvDialect(opts.delimiter ?? (format === "tsv" ? "\t" : ","));
      if (opts.detected) {
        const { columns, dateFormat, timestampFormat } = opts.detected;
        const types = columns.map((c) => `${sqlString(c.name)}: ${sqlString(c.type)}`).join(", ");
        const formats = `${dateFormat ? `, dateformat = ${sqlString(dateFormat)}` : ""}${timestampFormat ? `, timestampformat = ${sqlString(timestampFormat)}` : ""}`;
        return `read_csv(${p}, ${dialect}, strict_mode = true, null_padding = false, auto_detect = false, columns = {${types}}${formats})`;
      }
      const types = textColumns.length > 0 ? `, types = {${textColumns.map((c) => `${sqlString(c)}: 'VARCHAR'`).join(", ")}}` : "";
      // strict_mode + no null padding: a row with too many or too few fields is an error, never silently repaired.
      // sample_size=-1: infer types from every row, so a late non-numeric value makes the column text instead of failing.
      return `read_csv(${p}, ${csvDialect(opts.delimiter ?? (format === "tsv" ? "\t" : ","))}, strict_mode = true, null_padding = false, sample_size = -1${types})`;
    }
    case "parquet":
      return `read_parquet(${p})`;
    case "json":
      return `read_json(${p}, format = 'array', records = true, sample_size = -1)`;
    case "ndjson":
      return `read_json(${p}, format = 'newline_delimited', records = true, sample_size = -1)`;
    default: {
      const never: never = format;
      throw new Error(`unhandled format ${String(never)}`);
    }
  }
}

/** What DuckDB's sniffer found in a whole delimited file: column types and the date formats to parse them with. */
export interface SniffedCsv {
  columns: { name: string; type: string }[];
  dateFormat?: string;
  timestampFormat?: string;
}

/** Infer a delimited file's column types from `sampleRows` rows (-1: every row), with the fixed dialect. */
async function sniffCsv(conn: DuckDBConnection, path: string, delimiter: string, sampleRows: number): Promise<SniffedCsv> {
  const reader = await conn.runAndReadAll(
    `SELECT Columns, DateFormat, TimestampFormat FROM sniff_csv(${sqlString(path)}, ${csvDialect(delimiter)}, strict_mode = true, null_padding = false, sample_size = ${sampleRows})`,
  );
  const [columns, dateFormat, timestampFormat] = reader.getRowsJS()[0] ?? [];
  return {
    columns: ((columns ?? []) as { name: string; type: string }[]).map((c) => ({ name: String(c.name), type: String(c.type) })),
    ...(typeof dateFormat === "string" && dateFormat ? { dateFormat } : {}),
    ...(typeof timestampFormat === "string" && timestampFormat ? { timestampFormat } : {}),
  };
}

/** Marks the error strictBoolean raises, so the copy knows to check its boolean columns. */
const NOT_BOOLEAN = "caretflow-not-boolean";

/** A text column as BOOLEAN when it says true or false (any case, spaces around ignored), else an error. Pure. */
export function strictBoolean(id: string): string {
  // The exact spellings first: most files write true/false, and an equality test is much cheaper than lower(trim()).
  return `CASE ${id} WHEN 'true' THEN true WHEN 'false' THEN false ELSE CASE WHEN ${id} IS NULL THEN NULL WHEN lower(trim(${id})) = 'true' THEN true WHEN lower(trim(${id})) = 'false' THEN false ELSE error('${NOT_BOOLEAN}: ' || ${id}) END END`;
}

/**
 * DuckDB's sniffer reads yes/no and t/f as BOOLEAN. caretflow keeps a column boolean only when every
 * value is spelled true or false (any case), as pandas does, so the data a model is trained on looks like
 * the data a person sends for prediction. Returns the BOOLEAN columns to read as text instead.
 */
async function booleansToKeepAsText(
  conn: DuckDBConnection,
  path: string,
  delimiter: string,
  described: readonly { name: string; type: string }[],
): Promise<string[]> {
  const booleans = described.filter((c) => c.type === "BOOLEAN").map((c) => c.name);
  if (booleans.length === 0) return [];
  const raw = `read_csv(${sqlString(path)}, ${csvDialect(delimiter)}, all_varchar = true)`;
  const checks = booleans.map((c) => `bool_and(lower(trim(${sqlIdent(c)})) IN ('true', 'false'))`).join(", ");
  const row = (await conn.runAndReadAll(`SELECT ${checks} FROM ${raw}`)).getRowsJS()[0] ?? [];
  return booleans.filter((_c, i) => row[i] === false);
}

async function jsonKeys(conn: DuckDBConnection, format: "json" | "ndjson", path: string): Promise<string[]> {
  const layout = format === "json" ? "array" : "newline_delimited";
  const reader = await conn.runAndReadAll(
    `SELECT DISTINCT unnest(json_keys(json)) FROM read_json_objects(${sqlString(path)}, format = '${layout}')`,
  );
  return reader.getRowsJS().map((r) => String(r[0]));
}

function noRows(format: SourceFormat): CaretflowError {
  const text = format === "csv" || format === "tsv" || format === "xlsx";
  return userError(
    "empty_file",
    text ? "The file has a header row but no data rows" : "The file contains no rows",
    "Add at least one row of data below the header (or choose another file), then import again.",
    422,
  );
}

/** Catch the common wrong files before DuckDB does, with a message that says what the file really is. */
async function checkFileLooksRight(path: string, format: SourceFormat): Promise<void> {
  const size = await fileSize(path);
  if (size === 0) {
    throw userError("empty_file", "The file is empty (0 bytes)", "Choose a file that has a header row and at least one row of data.", 422);
  }
  const handle = await open(path, "r");
  const head = new Uint8Array(8192);
  let n: number;
  try {
    ({ bytesRead: n } = await handle.read(head, 0, head.length, 0));
  } finally {
    await handle.close();
  }
  const sniffed = sniffBytes(head.subarray(0, n));
  const problem = wrongFileProblem(sniffed, format);
  if (problem) throw problem;
}

async function fileSize(path: string): Promise<number> {
  try {
    const s = await stat(path);
    if (!s.isFile()) throw new Error("not a regular file");
    return s.size;
  } catch {
    throw userError("file_not_found", `The file '${path}' does not exist or cannot be read`, "Check the path and try again.", 400);
  }
}

/** A user error when the sniffed content does not fit the expected format, else null. Pure. */
export function wrongFileProblem(sniffed: Sniffed, format: SourceFormat): CaretflowError | null {
  const label = formatLabel(format);
  switch (sniffed.type) {
    case "empty":
      return userError(
        "empty_file",
        "The file is empty (0 bytes)",
        "Choose a file that has a header row and at least one row of data.",
        422,
      );
    case "parquet":
      return format === "parquet"
        ? null
        : userError(
            "wrong_format",
            `The file is a Parquet file, not ${label}`,
            "Import it with a .parquet name or choose the parquet format.",
            422,
          );
    case "zip":
      return format === "xlsx"
        ? null
        : userError(
            "wrong_format",
            `The file is a zip archive (an Excel .xlsx workbook is one), not ${label}`,
            "If it is an Excel workbook, import it with a .xlsx name; otherwise unzip it and import the file inside.",
            422,
          );
    case "utf16":
      return format === "parquet" || format === "xlsx"
        ? notBinaryFormat(format)
        : userError(
            "not_utf8",
            "The file is encoded as UTF-16, but caretflow reads text files as UTF-8 unless told otherwise",
            "Import it again with the encoding utf-16 (the form field 'encoding', or caretflow datasets import --encoding utf-16), or re-save it as UTF-8 (in Excel: File > Save As > 'CSV UTF-8').",
            422,
          );
    case "binary":
      return format === "parquet" || format === "xlsx"
        ? notBinaryFormat(format)
        : userError(
            "unreadable_file",
            `The file does not look like ${label} (${sniffed.reason}); it seems to be a binary file`,
            "Check that you chose the right file; export the data as CSV (UTF-8), Parquet, JSON or .xlsx and import that.",
            422,
          );
    case "text":
      return format === "parquet" || format === "xlsx" ? notBinaryFormat(format) : null;
    default: {
      const never: never = sniffed;
      throw new Error(`unhandled sniff result ${JSON.stringify(never)}`);
    }
  }
}

function notBinaryFormat(format: "parquet" | "xlsx"): CaretflowError {
  return format === "parquet"
    ? userError(
        "unreadable_file",
        "The file is not a Parquet file (it does not start with the Parquet signature 'PAR1')",
        "Check that you chose the right file, or import it with the extension that matches its content (.csv, .json ...).",
        422,
      )
    : userError(
        "unreadable_file",
        "The file is not an Excel .xlsx workbook (it is not a zip archive); old .xls workbooks and CSV files renamed to .xlsx are not read as Excel",
        "Open it in Excel or LibreOffice and save it as 'Excel Workbook (.xlsx)', or import it with the extension that matches its content.",
        422,
      );
}

function formatLabel(format: SourceFormat): string {
  switch (format) {
    case "csv":
      return "a CSV file";
    case "tsv":
      return "a tab-separated (TSV) file";
    case "parquet":
      return "a Parquet file";
    case "json":
      return "a JSON file";
    case "ndjson":
      return "an NDJSON (JSON lines) file";
    case "xlsx":
      return "an Excel workbook";
    default: {
      const never: never = format;
      throw new Error(`unhandled format ${String(never)}`);
    }
  }
}

/**
 * Turn a DuckDB read error into a message a person can act on. For text formats a second pass over the
 * bytes finds the first line that is not UTF-8, has the wrong number of fields, or opens a quote it never closes.
 */
async function explainReadFailure(error: unknown, path: string, format: SourceFormat, delimiter: string): Promise<CaretflowError> {
  if (error instanceof Error && error.name === "CaretflowError") return error as CaretflowError;
  const reason = duckdbReason(error);
  if (format === "parquet") {
    return userError(
      "unreadable_file",
      `The file is not a readable Parquet file: ${reason}`,
      "Check that the file is complete (not truncated) and written by a Parquet writer.",
      422,
    );
  }
  if (format === "xlsx") {
    return userError(
      "unreadable_file",
      `The workbook's first sheet could not be read as a table: ${reason}`,
      "Check that row 1 holds the column names and each column holds one kind of value.",
      422,
    );
  }
  const scan = await scanCsvFile(path, delimiter);
  if (scan.invalidUtf8) return notUtf8Error(scan.invalidUtf8);
  if (format === "json" || format === "ndjson") {
    const small = await smallJson(path);
    if (Array.isArray(small) && small.length === 0) return noRows(format);
    const first = Array.isArray(small) ? small.find((x) => x === null || typeof x !== "object" || Array.isArray(x)) : undefined;
    if (first !== undefined) {
      return userError(
        "invalid_json",
        `The JSON array holds ${JSON.stringify(first)?.slice(0, 40)} where caretflow expects an object (one object per row)`,
        'Write each row as an object with the column names as keys, like [{"a": 1}, {"a": 2}].',
        422,
      );
    }
    const shape =
      format === "json"
        ? 'A .json file must hold one array of objects, like [{"a": 1}, {"a": 2}]; for one object per line name the file .ndjson or .jsonl.'
        : "An .ndjson/.jsonl file must hold one JSON object per line; for a single array of objects name the file .json.";
    return userError("invalid_json", `The file could not be read as ${formatLabel(format)}: ${reason}`, shape, 422);
  }
  if (scan.longRecord) return lineTooLong(scan.longRecord);
  if (scan.unterminatedQuote) {
    return userError(
      "invalid_csv",
      `Line ${scan.unterminatedQuote.line} starts a quoted value (") that is never closed`,
      'Close the quote on that line, or double any quote character inside a quoted value ("").',
      422,
      { line: scan.unterminatedQuote.line },
    );
  }
  if (scan.ragged) {
    const { line, fields, expected } = scan.ragged;
    const sep = delimiter === "\t" ? "tab" : `'${delimiter}'`;
    return userError(
      "ragged_rows",
      `Line ${line} has ${fields} ${fields === 1 ? "field" : "fields"}, but the header has ${expected}`,
      `Every line needs exactly ${expected} fields separated by ${sep}. Fix line ${line} (a missing or extra separator, or a value containing ${sep} that is not in double quotes) and import again.`,
      422,
      scan.ragged,
    );
  }
  return userError(
    "invalid_csv",
    `The file could not be read as ${formatLabel(format)}: ${reason}`,
    format === "csv"
      ? "caretflow reads comma-separated UTF-8 text with a header row and double quotes around values that contain commas. Save the file in that form and import again."
      : "caretflow reads tab-separated UTF-8 text with a header row. Save the file in that form and import again.",
    422,
  );
}

/** The parsed content of a JSON file of at most 64 KiB, or undefined; lets tiny files get a precise message. */
async function smallJson(path: string): Promise<unknown> {
  try {
    if ((await stat(path)).size > 64 * 1024) return undefined;
    return JSON.parse(await readFile(path, "utf8"));
  } catch {
    return undefined;
  }
}

/** Name the first invalid byte and what it would mean in Latin-1 / Windows-1252, the usual culprits. */
export function notUtf8Error(at: { line: number; offset: number; byte: number }): CaretflowError {
  const hex = `0x${at.byte.toString(16).toUpperCase().padStart(2, "0")}`;
  const latin1 = at.byte >= 0xa0 ? new TextDecoder("latin1").decode(new Uint8Array([at.byte])) : null;
  const guess = latin1 ? `; it is probably Latin-1 or Windows-1252 encoded (there ${hex} is '${latin1}')` : "";
  return userError(
    "not_utf8",
    `The file is not UTF-8 text: line ${at.line} has the byte ${hex}, which is not valid UTF-8${guess}`,
    `Import it again naming its encoding (${latin1 ? "windows-1252 covers Latin-1" : "e.g. windows-1252, shift_jis"}): the form field 'encoding', or caretflow datasets import --encoding. Or re-save the file as UTF-8 (in Excel: File > Save As > 'CSV UTF-8'; in LibreOffice or an editor: choose the character set 'Unicode (UTF-8)').`,
    422,
    at,
  );
}
