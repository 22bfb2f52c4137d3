import { userError } from "@caretflow/contracts";

/**
 * Refuse empty or duplicate column names. Duplicates are compared ignoring case, because DuckDB
 * identifiers are case-insensitive and would silently rename one of them. Positions are 1-based.
 */
export function checkColumnNames(names: readonly string[], where = "The header"): void {
  const seen = new Map<string, number>();
  names.forEach((raw, i) => {
    const name = raw.trim();
    if (name === "") {
      throw userError(
        "empty_column_name",
        `${where} has an empty column name at position ${i + 1} (of ${names.length})`,
        "Give every column a name in the header row, then import the file again.",
        422,
        { position: i + 1 },
      );
    }
    const key = name.toLowerCase();
    const first = seen.get(key);
    if (first !== undefined) {
      throw userError(
        "duplicate_column_name",
        `${where} has the column name '${name}' twice: at positions ${first} and ${i + 1}`,
        "Column names must be unique (upper and lower case count as the same); rename one of them and import again.",
        422,
        { name, positions: [first, i + 1] },
      );
    }
    seen.set(key, i + 1);
  });
}
