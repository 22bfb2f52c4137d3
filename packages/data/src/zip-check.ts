import { createReadStream } from "node:fs";
import { open } from "node:fs/promises";
import { createInflateRaw, inflateRawSync } from "node:zlib";
import { type CaretflowError, userError } from "@caretflow/contracts";

/** Most bytes all entries of a workbook may inflate to (its XML); far above any sheet Excel can hold. */
export const MAX_INFLATED_BYTES = 8 * 1024 ** 3;
/** An entry inflating to more than this many times its compressed size... */
export const MAX_RATIO = 200;
/** ...once it has inflated past this size, is a zip bomb (real sheets compress 5 to 30 times). */
export const RATIO_CHECK_AFTER = 64 * 1024 * 1024;

interface Entry {
  name: string;
  method: number;
  compressed: number;
  localOffset: number;
}

/**
 * Refuse a zip archive (an .xlsx workbook) that inflates far beyond its size, before any reader
 * unpacks it: every entry of the central directory is inflated here, counting bytes and keeping none,
 * and the pass stops as soon as an entry passes MAX_RATIO times its compressed size (after
 * RATIO_CHECK_AFTER bytes) or all entries together pass MAX_INFLATED_BYTES. Memory stays at a few buffers.
 */
export async function checkZipInflation(
  path: string,
  limits: { maxInflatedBytes?: number; maxRatio?: number; ratioCheckAfter?: number } = {},
): Promise<void> {
  const maxTotal = limits.maxInflatedBytes ?? MAX_INFLATED_BYTES;
  const maxRatio = limits.maxRatio ?? MAX_RATIO;
  const after = limits.ratioCheckAfter ?? RATIO_CHECK_AFTER;
  const entries = await centralDirectory(path);
  let total = 0;
  for (const entry of entries) {
    if (entry.method !== 8 || entry.compressed === 0) continue; // stored entries are their own size
    const start = await dataStart(path, entry.localOffset);
    let out = 0;
    let read = 0;
    let problem: CaretflowError | null = null;
    const input = createReadStream(path, { start, end: start + entry.compressed - 1 });
    const inflate = createInflateRaw();
    input.on("data", (chunk) => {
      read += chunk.length;
    });
    await new Promise<void>((resolve) => {
      const stop = (error: CaretflowError | null) => {
        problem ??= error;
        input.destroy();
        inflate.destroy();
        resolve();
      };
      inflate.on("data", (chunk: Buffer) => {
        out += chunk.length;
        if (total + out > maxTotal) stop(tooBig(entry.name, total + out));
        else if (out > after && out / Math.max(1, read) > maxRatio) stop(bomb(entry.name, out, read));
      });
      inflate.on("end", () => stop(null));
      // A broken deflate stream is the reader's to report, with its own message.
      inflate.on("error", () => stop(null));
      input.on("error", () => stop(null));
      input.pipe(inflate);
    });
    if (problem) throw problem;
    total += out;
  }
}

/** One small entry of a zip archive, inflated (null when absent, or larger than `maxBytes` either way). */
export async function readZipEntry(path: string, name: string, maxBytes = 16 * 1024 * 1024): Promise<Buffer | null> {
  const entry = (await centralDirectory(path)).find((e) => e.name === name);
  if (!entry || entry.compressed > maxBytes) return null;
  const start = await dataStart(path, entry.localOffset);
  const file = await open(path, "r");
  try {
    const data = Buffer.alloc(entry.compressed);
    await file.read(data, 0, entry.compressed, start);
    if (entry.method === 0) return data;
    if (entry.method !== 8) return null;
    return inflateRawSync(data, { maxOutputLength: maxBytes });
  } catch {
    return null;
  } finally {
    await file.close();
  }
}

function bomb(name: string, out: number, read: number): CaretflowError {
  return userError(
    "zip_bomb",
    `The workbook's part ${name} inflates to over ${Math.floor(out / read)} times its compressed size (${mb(out)} from ${mb(read)} so far); it looks like a zip bomb and was not read`,
    "Open the workbook in Excel or LibreOffice and save it again as .xlsx, or export the sheet as CSV UTF-8 and import that.",
    422,
  );
}

function tooBig(name: string, total: number): CaretflowError {
  return userError(
    "workbook_too_large",
    `The workbook inflates to more than ${mb(total)} (reached in ${name}); caretflow reads workbooks of at most ${mb(MAX_INFLATED_BYTES)} unpacked`,
    "Export the sheet as CSV UTF-8 (or Parquet) and import that.",
    422,
  );
}

function mb(bytes: number): string {
  return bytes >= 1e9 ? `${(bytes / 1e9).toFixed(1)} GB` : bytes >= 1e6 ? `${Math.round(bytes / 1e6)} MB` : `${Math.round(bytes / 1e3)} kB`;
}

/** The entries the central directory lists (zip64 sizes and offsets included); [] when there is none (the reader reports that). */
async function centralDirectory(path: string): Promise<Entry[]> {
  const file = await open(path, "r");
  try {
    const { size } = await file.stat();
    const tailLength = Math.min(size, 22 + 65_535 + 20);
    const tail = Buffer.alloc(tailLength);
    await file.read(tail, 0, tailLength, size - tailLength);
    let eocd = -1;
    for (let i = tailLength - 22; i >= 0; i--) {
      if (tail.readUInt32LE(i) === 0x06054b50) {
        eocd = i;
        break;
      }
    }
    if (eocd < 0) return [];
    let count = tail.readUInt16LE(eocd + 10);
    let dirSize = tail.readUInt32LE(eocd + 12);
    let dirOffset = tail.readUInt32LE(eocd + 16);
    // Zip64: the end record's fields are 0xFFFF..., the real ones are in the zip64 end record.
    const locator = eocd - 20;
    if (locator >= 0 && tail.readUInt32LE(locator) === 0x07064b50) {
      const at = Number(tail.readBigUInt64LE(locator + 8));
      const z = Buffer.alloc(56);
      await file.read(z, 0, 56, at);
      if (z.readUInt32LE(0) === 0x06064b50) {
        count = Number(z.readBigUInt64LE(32));
        dirSize = Number(z.readBigUInt64LE(40));
        dirOffset = Number(z.readBigUInt64LE(48));
      }
    }
    if (dirOffset + dirSize > size || dirSize > 64 * 1024 * 1024) return [];
    const dir = Buffer.alloc(dirSize);
    await file.read(dir, 0, dirSize, dirOffset);
    const entries: Entry[] = [];
    let p = 0;
    for (let i = 0; i < count && p + 46 <= dir.length && dir.readUInt32LE(p) === 0x02014b50; i++) {
      const method = dir.readUInt16LE(p + 10);
      let compressed = dir.readUInt32LE(p + 20);
      let uncompressed = dir.readUInt32LE(p + 24);
      const nameLength = dir.readUInt16LE(p + 28);
      const extraLength = dir.readUInt16LE(p + 30);
      const commentLength = dir.readUInt16LE(p + 32);
      let localOffset = dir.readUInt32LE(p + 42);
      const name = dir.toString("utf8", p + 46, p + 46 + nameLength);
      // Zip64 extended information: the 64-bit values of the fields that read 0xFFFFFFFF, in this order.
      let x = p + 46 + nameLength;
      const extraEnd = x + extraLength;
      while (x + 4 <= extraEnd) {
        const id = dir.readUInt16LE(x);
        const len = dir.readUInt16LE(x + 2);
        if (id === 0x0001) {
          let q = x + 4;
          if (uncompressed === 0xffffffff) {
            uncompressed = Number(dir.readBigUInt64LE(q));
            q += 8;
          }
          if (compressed === 0xffffffff) {
            compressed = Number(dir.readBigUInt64LE(q));
            q += 8;
          }
          if (localOffset === 0xffffffff) localOffset = Number(dir.readBigUInt64LE(q));
        }
        x += 4 + len;
      }
      entries.push({ name, method, compressed, localOffset });
      p = extraEnd + commentLength;
    }
    return entries;
  } finally {
    await file.close();
  }
}

/** Where an entry's data starts: after its local header, whose name and extra field lengths may differ from the central directory's. */
async function dataStart(path: string, localOffset: number): Promise<number> {
  const file = await open(path, "r");
  try {
    const header = Buffer.alloc(30);
    await file.read(header, 0, 30, localOffset);
    if (header.readUInt32LE(0) !== 0x04034b50) return localOffset;
    return localOffset + 30 + header.readUInt16LE(26) + header.readUInt16LE(28);
  } finally {
    await file.close();
  }
}
