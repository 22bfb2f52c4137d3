import { createReadStream } from "node:fs";

/** What a byte-level pass over a delimited text file found; used to explain why a parser refused it. */
export interface CsvScanReport {
  /** Fields of the first record, decoded as UTF-8 (replacement characters where invalid). */
  header: string[];
  /** Records after the header, blank lines not counted. */
  dataRecords: number;
  /** First record whose field count differs from the header's. */
  ragged: { line: number; fields: number; expected: number } | null;
  /** First byte sequence that is not valid UTF-8. */
  invalidUtf8: { line: number; offset: number; byte: number } | null;
  /** A quoted field still open at the end of the file. */
  unterminatedQuote: { line: number } | null;
  /** First record longer than MAX_RECORD_BYTES (bytes: its length once it ended). */
  longRecord: { line: number; bytes: number } | null;
}

/** The longest record (line) DuckDB's CSV reader accepts: its max_line_size, 2,000,000 bytes. */
export const MAX_RECORD_BYTES = 2_000_000;

const QUOTE = 0x22;
const LF = 0x0a;
const CR = 0x0d;

/**
 * Incremental RFC 4180 scanner (quote '"', doubled quote as escape) that counts fields per record
 * and tracks physical line numbers, so errors can name the line a person sees in an editor.
 */
export class CsvScanner {
  private readonly delim: number;
  private line = 1;
  private offset = 0;
  private recordLine = 1;
  private fields = 1;
  private inQuotes = false;
  private quotePending = false; // saw '"' inside quotes; the next byte decides escape vs close
  private atFieldStart = true;
  private lastWasCr = false;
  private recordHasContent = false;
  private utf8Need = 0;
  private utf8Min = 0; // lowest allowed next continuation byte (rejects overlong forms)
  private seqLine = 1;
  private seqOffset = 0;
  private seqByte = 0;
  private headerDone = false;
  private headerBytes: number[] = [];
  private readonly headerFields: string[] = [];
  private expected = 0;
  private records = 0;
  private recordBytes = 0;
  readonly report: CsvScanReport = {
    header: [],
    dataRecords: 0,
    ragged: null,
    invalidUtf8: null,
    unterminatedQuote: null,
    longRecord: null,
  };

  constructor(delimiter: string) {
    this.delim = delimiter.charCodeAt(0);
  }

  /** True once the first record (the header) has ended, or grew past MAX_RECORD_BYTES. */
  get headerComplete(): boolean {
    return this.headerDone || this.report.longRecord?.line === 1;
  }

  /** True once the first record has ended (whatever its length). */
  get headerEnded(): boolean {
    return this.headerDone;
  }

  push(chunk: Uint8Array): void {
    for (const b of chunk) {
      this.checkUtf8(b);
      this.step(b);
      this.offset++;
    }
  }

  private countRecordByte(): void {
    if (++this.recordBytes > MAX_RECORD_BYTES && !this.report.longRecord) this.report.longRecord = { line: this.recordLine, bytes: 0 };
  }

  end(): CsvScanReport {
    if (this.utf8Need > 0 && !this.report.invalidUtf8) {
      this.report.invalidUtf8 = { line: this.seqLine, offset: this.seqOffset, byte: this.seqByte };
    }
    if (this.quotePending) {
      this.quotePending = false;
      this.inQuotes = false;
    }
    if (this.inQuotes) this.report.unterminatedQuote = { line: this.recordLine };
    else if (this.recordHasContent || this.fields > 1) this.endRecord();
    if (this.report.longRecord && this.report.longRecord.bytes === 0) this.report.longRecord.bytes = this.recordBytes;
    const header = this.headerDone ? this.headerFields : this.headerFields.concat(this.decodeHeaderField());
    // A UTF-8 byte-order mark (Excel's "CSV UTF-8") is not part of the first name.
    if (header[0]?.startsWith("\ufeff")) header[0] = header[0].slice(1);
    this.report.header = header;
    this.report.dataRecords = this.records;
    return this.report;
  }

  private step(b: number): void {
    this.countRecordByte();
    if (this.quotePending) {
      this.quotePending = false;
      if (b === QUOTE) {
        this.keepHeaderByte(b);
        return;
      }
      this.inQuotes = false; // the quote closed the field; fall through to handle b normally
    }
    if (this.inQuotes) {
      if (b === QUOTE) this.quotePending = true;
      else {
        if (b === LF) this.line++;
        this.keepHeaderByte(b);
      }
      return;
    }
    if (b === LF || b === CR) {
      if (b === LF && this.lastWasCr) {
        this.lastWasCr = false;
        return;
      }
      this.lastWasCr = b === CR;
      if (this.recordHasContent || this.fields > 1) this.endRecord();
      this.recordBytes = 0;
      this.line++;
      this.recordLine = this.line;
      return;
    }
    this.lastWasCr = false;
    this.recordHasContent = true;
    if (b === this.delim) {
      this.endHeaderField();
      this.fields++;
      this.atFieldStart = true;
      return;
    }
    if (b === QUOTE && this.atFieldStart) {
      this.inQuotes = true;
      this.atFieldStart = false;
      return;
    }
    this.atFieldStart = false;
    this.keepHeaderByte(b);
  }

  private endRecord(): void {
    if (this.report.longRecord?.line === this.recordLine && this.report.longRecord.bytes === 0)
      this.report.longRecord.bytes = this.recordBytes;
    this.recordBytes = 0;
    if (!this.headerDone) {
      this.endHeaderField();
      this.headerDone = true;
      this.expected = this.fields;
    } else {
      this.records++;
      if (this.fields !== this.expected && !this.report.ragged) {
        this.report.ragged = { line: this.recordLine, fields: this.fields, expected: this.expected };
      }
    }
    this.fields = 1;
    this.atFieldStart = true;
    this.recordHasContent = false;
  }

  private keepHeaderByte(b: number): void {
    // A header past the record limit is refused anyway; keeping it would only fill memory.
    if (!this.headerDone && this.headerBytes.length < MAX_RECORD_BYTES) this.headerBytes.push(b);
  }

  private decodeHeaderField(): string[] {
    return [Buffer.from(this.headerBytes).toString("utf8")];
  }

  private endHeaderField(): void {
    if (this.headerDone) return;
    this.headerFields.push(Buffer.from(this.headerBytes).toString("utf8"));
    this.headerBytes = [];
  }

  private checkUtf8(b: number): void {
    if (this.report.invalidUtf8) return;
    if (this.utf8Need > 0) {
      if ((b & 0xc0) === 0x80 && b >= this.utf8Min) {
        this.utf8Need--;
        this.utf8Min = 0x80;
        return;
      }
      // Report where the broken sequence started: that byte is the one a person can find and recognise.
      this.report.invalidUtf8 = { line: this.seqLine, offset: this.seqOffset, byte: this.seqByte };
      return;
    }
    if (b < 0x80) return;
    this.seqLine = this.line;
    this.seqOffset = this.offset;
    this.seqByte = b;
    const need = b >= 0xc2 && b <= 0xdf ? 1 : b >= 0xe0 && b <= 0xef ? 2 : b >= 0xf0 && b <= 0xf4 ? 3 : -1;
    if (need < 0) {
      this.report.invalidUtf8 = { line: this.line, offset: this.offset, byte: b };
      return;
    }
    this.utf8Need = need;
    // Reject overlong 3/4-byte forms at the first continuation byte.
    this.utf8Min = b === 0xe0 ? 0xa0 : b === 0xf0 ? 0x90 : 0x80;
  }
}

/** Scan a whole file with bounded memory (64 KiB chunks). */
export async function scanCsvFile(path: string, delimiter: string): Promise<CsvScanReport> {
  const scanner = new CsvScanner(delimiter);
  for await (const chunk of createReadStream(path, { highWaterMark: 64 * 1024 })) scanner.push(chunk as Buffer);
  return scanner.end();
}

/** The header (first record) only, reading no more than needed. */
export async function readCsvHeader(path: string, delimiter: string): Promise<string[]> {
  return (await scanCsvHeader(path, delimiter)).header;
}

/** Scan the first record only (stopping early when it is longer than MAX_RECORD_BYTES: longRecord on line 1). */
export async function scanCsvHeader(path: string, delimiter: string): Promise<CsvScanReport> {
  const scanner = new CsvScanner(delimiter);
  const stream = createReadStream(path, { highWaterMark: 64 * 1024 });
  for await (const chunk of stream) {
    scanner.push(chunk as Buffer);
    if (scanner.headerComplete) break;
  }
  stream.destroy();
  const unfinished = !scanner.headerEnded;
  const report = scanner.end();
  // Stopped inside an overlong header: its length is not known, only that it is over the limit.
  if (unfinished && report.longRecord?.line === 1) report.longRecord.bytes = 0;
  return report;
}
