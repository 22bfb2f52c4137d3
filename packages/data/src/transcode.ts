import { createReadStream, createWriteStream } from "node:fs";
import { pipeline } from "node:stream/promises";
import { type CaretflowError, type SourceFormat, userError } from "@caretflow/contracts";

/**
 * Text files in other encodings than UTF-8 (Windows-1252 CSVs from Excel, Shift_JIS, UTF-16...), read
 * only when the person names the encoding: guessing would turn a wrong guess into silently garbled
 * text, while the not_utf8 error names the byte and the likely encoding. Labels are the WHATWG
 * Encoding Standard's (what browsers accept): "latin1" and "iso-8859-1" mean windows-1252 there,
 * which agrees with ISO-8859-1 except that 0x80–0x9F are printable (€, ‰, curly quotes).
 */

/** The canonical name of an encoding label ("latin1" → "windows-1252"). Pure; throws a user error for an unknown label. */
export function canonicalEncoding(label: string): string {
  try {
    return new TextDecoder(label.trim()).encoding;
  } catch {
    return unknownEncoding(label);
  }
}

function unknownEncoding(label: string): never {
  throw userError(
    "unknown_encoding",
    `'${label.length > 100 ? `${label.slice(0, 100)}...` : label}' is not a text encoding caretflow knows`,
    "Name the file's encoding as browsers do, e.g. utf-8, windows-1252 (also latin1, iso-8859-1), iso-8859-15, utf-16le, shift_jis, gbk.",
    422,
  );
}

/** A user error when a format cannot take an encoding (binary formats carry their own), else null. Pure. */
export function encodingProblem(format: SourceFormat, encoding: string): CaretflowError | null {
  if (format === "parquet" || format === "xlsx") {
    return userError(
      "encoding_not_applicable",
      `An encoding (${encoding}) only applies to text files; ${format === "parquet" ? "Parquet files" : "Excel workbooks"} carry their own`,
      "Leave the encoding out for this file.",
      422,
    );
  }
  return null;
}

/** Decode `path` from `encoding` and write it as UTF-8 to `target`, streaming (multi-byte sequences may span chunks). */
export async function transcodeToUtf8(path: string, target: string, encoding: string): Promise<void> {
  const decoder = new TextDecoder(encoding);
  await pipeline(
    createReadStream(path),
    async function* (chunks: AsyncIterable<Buffer>) {
      for await (const chunk of chunks) yield decoder.decode(chunk, { stream: true });
      yield decoder.decode();
    },
    createWriteStream(target, { encoding: "utf8" }),
  );
}
