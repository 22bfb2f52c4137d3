/** What the first bytes of a file say about it, before any parser sees it. */
export type Sniffed =
  | { type: "empty" }
  | { type: "text" }
  | { type: "utf16" }
  | { type: "zip" }
  | { type: "parquet" }
  | { type: "binary"; reason: string };

/** Classify a file from its first bytes (a few KiB is enough). Pure. */
export function sniffBytes(head: Uint8Array): Sniffed {
  if (head.length === 0) return { type: "empty" };
  const b0 = head[0];
  const b1 = head[1];
  if ((b0 === 0xff && b1 === 0xfe) || (b0 === 0xfe && b1 === 0xff)) return { type: "utf16" };
  if (b0 === 0x50 && b1 === 0x4b && head[2] === 0x03 && head[3] === 0x04) return { type: "zip" };
  if (b0 === 0x50 && b1 === 0x41 && head[2] === 0x52 && head[3] === 0x31) return { type: "parquet" };
  let nul = 0;
  let control = 0;
  for (const b of head) {
    if (b === 0) nul++;
    // Tab, LF, CR and form feed appear in text; other C0 controls and DEL do not.
    else if ((b < 0x20 && b !== 0x09 && b !== 0x0a && b !== 0x0d && b !== 0x0c) || b === 0x7f) control++;
  }
  // UTF-16 without a byte-order mark: every other byte of ASCII text is zero.
  if (nul > head.length / 4) {
    let evenNul = 0;
    let oddNul = 0;
    for (let i = 0; i < head.length; i++) if (head[i] === 0) i % 2 === 0 ? evenNul++ : oddNul++;
    if (Math.max(evenNul, oddNul) > 0.9 * nul && Math.min(evenNul, oddNul) < 0.1 * nul) return { type: "utf16" };
  }
  if (nul > 0) return { type: "binary", reason: "it contains NUL bytes" };
  if (control > Math.max(2, head.length / 100)) return { type: "binary", reason: "it contains many control characters" };
  return { type: "text" };
}
