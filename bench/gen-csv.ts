import { once } from "node:events";
import { createWriteStream } from "node:fs";
import { finished } from "node:stream/promises";

/** The columns every generated file has: integers, floats, text categories, dates, booleans, free text. */
export const GENERATED_HEADER = "id,amount,ratio,category,city,day,active,note";

/**
 * Write a deterministic CSV of about `bytes` bytes (mixed column types, ~56 bytes a row) to `path`,
 * streaming. The same size always gives the same file. Returns the rows written.
 */
export async function generateCsv(path: string, bytes: number): Promise<{ rows: number; bytes: number }> {
  const out = createWriteStream(path);
  const categories = ["alpha", "beta", "gamma", "delta", "epsilon"];
  const cities = ["Lisbon", "Oslo", "Quito", "Nairobi", "Hanoi", "Perth", "Lyon"];
  const words = ["red", "green", "blue", "quick", "lazy", "dog", "fox", "jumps"];
  let x = 42;
  const rand = () => {
    x = (Math.imul(x, 1103515245) + 12345) & 0x7fffffff;
    return x;
  };
  let written = 0;
  let rows = 0;
  const header = `${GENERATED_HEADER}\n`;
  out.write(header);
  written += header.length;
  const epoch = Date.UTC(2020, 0, 1);
  while (written < bytes) {
    let chunk = "";
    for (let i = 0; i < 2000 && written + chunk.length < bytes; i++) {
      const r = rand();
      const day = new Date(epoch + (r % 1500) * 86_400_000).toISOString().slice(0, 10);
      const note = `${words[r % 8]} ${words[(r >> 3) % 8]}`;
      chunk += `${rows},${(r % 100000) / 100},${((r >> 7) % 1000) / 1000},${categories[r % 5]},${cities[(r >> 5) % 7]},${day},${(r >> 9) % 2 === 0 ? "true" : "false"},${note}\n`;
      rows++;
    }
    written += chunk.length;
    if (!out.write(chunk)) await once(out, "drain");
  }
  out.end();
  await finished(out);
  return { rows, bytes: written };
}

/** "1GB", "200MB", "512KiB", "1000000" → bytes (decimal units for GB/MB/KB, binary for GiB/MiB/KiB). */
export function parseSize(text: string): number {
  const m = /^(\d+(?:\.\d+)?)\s*(b|kb|mb|gb|kib|mib|gib)?$/i.exec(text.trim());
  if (!m) throw new Error(`not a size: ${text} (e.g. 1GB, 200MB)`);
  const unit = (m[2] ?? "b").toLowerCase();
  const mult: Record<string, number> = { b: 1, kb: 1e3, mb: 1e6, gb: 1e9, kib: 1024, mib: 1024 ** 2, gib: 1024 ** 3 };
  return Math.round(Number(m[1]) * mult[unit]!);
}
