/** Sorting and filtering for every table: pure, so tables behave the same everywhere and are tested once. */

export type SortDir = "asc" | "desc";
export interface SortState<K extends string = string> {
  key: K;
  dir: SortDir;
}

/**
 * Orders two cell values: numbers numerically, strings naturally ("v2" before "v10"), and
 * empty values (null, undefined, NaN, "") always last whatever the direction, so blanks never top a ranking.
 */
export function compareValues(a: unknown, b: unknown, dir: SortDir = "asc"): number {
  const ea = isEmpty(a);
  const eb = isEmpty(b);
  if (ea || eb) return ea === eb ? 0 : ea ? 1 : -1;
  let c: number;
  if (typeof a === "number" && typeof b === "number") c = a - b;
  else if (typeof a === "boolean" && typeof b === "boolean") c = Number(a) - Number(b);
  else c = String(a).localeCompare(String(b), undefined, { numeric: true, sensitivity: "base" });
  return dir === "asc" ? c : -c;
}

function isEmpty(v: unknown): boolean {
  return v === null || v === undefined || v === "" || (typeof v === "number" && Number.isNaN(v));
}

/** A sorted copy; ties keep their original order. */
export function sortBy<T>(rows: readonly T[], value: (row: T) => unknown, dir: SortDir): T[] {
  return rows
    .map((row, i) => ({ row, i, v: value(row) }))
    .sort((x, y) => compareValues(x.v, y.v, dir) || x.i - y.i)
    .map((x) => x.row);
}

/** Clicking a header: a new column starts in `firstDir`, the same column flips. */
export function nextSort<K extends string>(current: SortState<K> | null, key: K, firstDir: SortDir = "asc"): SortState<K> {
  if (current && current.key === key) return { key, dir: current.dir === "asc" ? "desc" : "asc" };
  return { key, dir: firstDir };
}

/** Case-insensitive match of every whitespace-separated word of `query` against any of the given fields. */
export function matchesFilter(query: string, fields: readonly (string | null | undefined)[]): boolean {
  const words = query.toLowerCase().split(/\s+/).filter(Boolean);
  if (words.length === 0) return true;
  const hay = fields
    .filter((f): f is string => typeof f === "string")
    .join(" ")
    .toLowerCase();
  return words.every((w) => hay.includes(w));
}
