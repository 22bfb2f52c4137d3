import type { DatasetProfile, QualityCheck } from "@caretflow/contracts";

/** Columns with at most this many distinct values (and a few rows per value) get an allowed-values suggestion. */
export const ALLOWED_VALUES_MAX = 10;

const ID_LIKE = /(^id$|_id$|^id_|[a-z]Id$|(^|_)(key|uuid|code)$)/i;

/**
 * Rules a profile suggests, in column order: not null for columns without nulls, unique for id-like
 * columns whose values are all distinct, a range from a numeric column's min and max, and allowed
 * values for low-cardinality text and boolean columns. Checks already in `existing` are left out. Pure.
 */
export function suggestRules(profile: DatasetProfile, existing: readonly QualityCheck[] = []): QualityCheck[] {
  const have = new Set(existing.map(checkKey));
  const out: QualityCheck[] = [];
  const add = (check: QualityCheck) => {
    if (!have.has(checkKey(check))) {
      have.add(checkKey(check));
      out.push(check);
    }
  };
  const rows = profile.rowCount;
  if (rows === 0) return out;
  for (const c of profile.columns) {
    if (c.nulls === 0) add({ type: "not_null", column: c.name });
    const allDistinct = c.distinct === c.count && c.count === rows;
    if (allDistinct && (c.kind === "integer" || c.kind === "string") && ID_LIKE.test(c.name)) add({ type: "unique", column: c.name });
    if (
      (c.kind === "integer" || c.kind === "float") &&
      typeof c.min === "number" &&
      typeof c.max === "number" &&
      !allDistinctId(c.name, allDistinct)
    )
      add({ type: "range", column: c.name, min: c.min, max: c.max });
    const topCovers = c.topValues.reduce((sum, t) => sum + t.count, 0) === c.count;
    if (
      (c.kind === "string" || c.kind === "boolean") &&
      c.distinct > 0 &&
      c.distinct <= ALLOWED_VALUES_MAX &&
      c.count >= c.distinct * 2 &&
      topCovers
    ) {
      const values = c.topValues.flatMap((t) => (t.value === null ? [] : [t.value])).sort();
      add({ type: "allowed_values", column: c.name, values });
    }
  }
  return out;
}

/** An id column's range says nothing about quality. */
function allDistinctId(name: string, allDistinct: boolean): boolean {
  return allDistinct && ID_LIKE.test(name);
}

/** Identity of a check for "already there": its type and column (a second range on a column is not suggested). */
function checkKey(check: QualityCheck): string {
  return "column" in check ? `${check.type}:${check.column ?? ""}` : check.type === "sql" ? `sql:${check.sql}` : check.type;
}
