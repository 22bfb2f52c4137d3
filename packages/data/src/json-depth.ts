import { createReadStream } from "node:fs";

/** The deepest nesting of arrays and objects a JSON import accepts (DuckDB's reader crashes on some far deeper). */
export const MAX_JSON_DEPTH = 1000;

const QUOTE = 0x22;
const BACKSLASH = 0x5c;

/**
 * Where a JSON (or NDJSON) file first nests arrays/objects deeper than `max`, or null. One streaming
 * pass over the bytes (64 KiB at a time); brackets inside strings do not count.
 */
export async function findDeepNesting(path: string, max = MAX_JSON_DEPTH): Promise<{ offset: number } | null> {
  let depth = 0;
  let inString = false;
  let escaped = false;
  let offset = 0;
  for await (const chunk of createReadStream(path, { highWaterMark: 64 * 1024 })) {
    for (const b of chunk as Buffer) {
      if (inString) {
        if (escaped) escaped = false;
        else if (b === BACKSLASH) escaped = true;
        else if (b === QUOTE) inString = false;
      } else if (b === QUOTE) inString = true;
      else if (b === 0x5b || b === 0x7b) {
        if (++depth > max) return { offset };
      } else if (b === 0x5d || b === 0x7d) depth--;
      offset++;
    }
  }
  return null;
}
