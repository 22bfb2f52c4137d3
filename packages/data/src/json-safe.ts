import type { ColumnKind } from "@caretflow/contracts";

/**
 * A JSON-safe form of a value read from DuckDB (JS form): bigints become numbers when exact,
 * otherwise strings; dates become ISO strings ("2024-01-31" for DATE); NaN and infinities become strings.
 */
export function toJsonSafe(value: unknown, kind: ColumnKind): unknown {
  if (value === null || value === undefined) return null;
  if (typeof value === "bigint") {
    const n = Number(value);
    return Number.isSafeInteger(n) ? n : value.toString();
  }
  if (typeof value === "number") return Number.isFinite(value) ? value : String(value);
  if (value instanceof Date) {
    if (Number.isNaN(value.getTime())) return null;
    const iso = value.toISOString();
    return kind === "date" ? iso.slice(0, 10) : iso;
  }
  if (typeof value === "string" || typeof value === "boolean") return value;
  return JSON.stringify(value, (_k, v) => (typeof v === "bigint" ? v.toString() : v));
}
