import type { ColumnKind } from "@caretflow/contracts";

/** caretflow's logical kind for a DuckDB type name as DuckDB prints it (e.g. "DECIMAL(10,2)", "TIMESTAMP WITH TIME ZONE"). */
export function columnKindOf(duckdbType: string): ColumnKind {
  const t = duckdbType.toUpperCase();
  if (/^(TINYINT|SMALLINT|INTEGER|BIGINT|HUGEINT|UTINYINT|USMALLINT|UINTEGER|UBIGINT|UHUGEINT)$/.test(t)) return "integer";
  if (/^(FLOAT|DOUBLE|DECIMAL(\(\d+,\s*\d+\))?)$/.test(t)) return "float";
  if (t === "BOOLEAN") return "boolean";
  if (t === "VARCHAR") return "string";
  if (t === "DATE") return "date";
  if (t.startsWith("TIMESTAMP")) return "timestamp";
  return "other";
}

export function isNumericKind(kind: ColumnKind): boolean {
  return kind === "integer" || kind === "float";
}
