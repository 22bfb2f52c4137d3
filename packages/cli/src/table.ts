/** Plain-text tables and value formatting for human output. Pure. */

export interface Column {
  header: string;
  /** Right-align (numbers). */
  right?: boolean;
  /** Longer cells are cut with an ellipsis. */
  maxWidth?: number;
}

/**
 * @example
 * formatTable([{ header: "NAME" }, { header: "ROWS", right: true }], [["juice", "1070"]])
 * // "NAME   ROWS\njuice  1070"
 */
export function formatTable(columns: Column[], rows: string[][]): string {
  const cells = rows.map((row) => columns.map((col, i) => truncate(oneLine(row[i] ?? ""), col.maxWidth ?? 48)));
  const widths = columns.map((col, i) => Math.max(width(col.header), ...cells.map((r) => width(r[i] ?? ""))));
  const render = (row: string[]) =>
    row
      .map((cell, i) => {
        const w = widths[i] ?? 0;
        const last = i === row.length - 1;
        if (columns[i]?.right) return pad(cell, w, "left");
        return last ? cell : pad(cell, w, "right");
      })
      .join("  ")
      .trimEnd();
  return [render(columns.map((c) => c.header)), ...cells.map(render)].join("\n");
}

/** Key/value lines with aligned keys, for `show` commands. */
export function formatFields(fields: [string, string][]): string {
  const w = Math.max(0, ...fields.map(([k]) => width(k)));
  return fields.map(([k, v]) => `${pad(`${k}:`, w + 1, "right")} ${v}`.trimEnd()).join("\n");
}

/** Metrics as PyCaret shows them: 4 decimals; integers stay integers; null is "-". */
export function formatMetric(value: number | null | undefined): string {
  if (value === null || value === undefined || Number.isNaN(value)) return "-";
  if (Number.isInteger(value) && Math.abs(value) >= 1) return String(value);
  return value.toFixed(4);
}

/** Cell text for any JSON value from a preview. */
export function formatValue(value: unknown): string {
  if (value === null || value === undefined) return "null";
  if (typeof value === "number") return Number.isInteger(value) ? String(value) : String(Number(value.toPrecision(6)));
  if (typeof value === "string") return value;
  return JSON.stringify(value);
}

/** "00:42", "03:07", "1:02:03". */
export function formatElapsed(ms: number): string {
  const total = Math.max(0, Math.floor(ms / 1000));
  const h = Math.floor(total / 3600);
  const m = Math.floor((total % 3600) / 60);
  const s = total % 60;
  const two = (n: number) => String(n).padStart(2, "0");
  return h > 0 ? `${h}:${two(m)}:${two(s)}` : `${two(m)}:${two(s)}`;
}

export function formatBytes(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  const units = ["KiB", "MiB", "GiB", "TiB"];
  let v = bytes / 1024;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return `${v.toFixed(v >= 10 ? 0 : 1)} ${units[i]}`;
}

/** ISO timestamp as "2024-05-01 12:03:04" (UTC), or "-" when absent. */
export function formatTime(iso: string | null | undefined): string {
  if (!iso) return "-";
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return iso;
  return d.toISOString().slice(0, 19).replace("T", " ");
}

function oneLine(s: string): string {
  return s.replace(/[\r\n\t]+/g, " ");
}

function truncate(s: string, max: number): string {
  return width(s) <= max ? s : `${[...s].slice(0, Math.max(1, max - 1)).join("")}…`;
}

// Code points, not UTF-16 units, so accented names line up; wide CJK glyphs are not measured.
function width(s: string): number {
  return [...s].length;
}

function pad(s: string, w: number, side: "left" | "right"): string {
  const fill = " ".repeat(Math.max(0, w - width(s)));
  return side === "left" ? fill + s : s + fill;
}
