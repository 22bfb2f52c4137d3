import { type ReactNode, useMemo, useState } from "react";
import { nextSort, type SortDir, type SortState, sortBy } from "../lib/sort.ts";
import { ScrollRegion } from "./scroll.tsx";

export interface Column<T> {
  key: string;
  header: ReactNode;
  /** The value sorted on; omit to make the column unsortable. */
  sortValue?: (row: T) => unknown;
  render: (row: T) => ReactNode;
  align?: "left" | "right";
  /** Numbers and scores usually read best-first when a person clicks them. */
  firstDir?: SortDir;
  className?: string;
}

/**
 * A table whose headers sort it; it scrolls sideways inside its own box on narrow screens,
 * so a wide leaderboard never breaks the page layout.
 */
export function DataTable<T>({
  rows,
  columns,
  rowKey,
  initialSort,
  rowClassName,
  empty,
  caption,
  testId,
}: {
  rows: readonly T[];
  columns: Column<T>[];
  rowKey: (row: T) => string;
  initialSort?: SortState | null;
  rowClassName?: (row: T) => string | undefined;
  empty?: ReactNode;
  /** What the table lists; read out by screen readers (not shown) and the name of its scrolling box. */
  caption?: string;
  testId?: string;
}) {
  const [sort, setSort] = useState<SortState | null>(initialSort ?? null);
  const sorted = useMemo(() => {
    if (!sort) return rows;
    const col = columns.find((c) => c.key === sort.key);
    return col?.sortValue ? sortBy(rows, col.sortValue, sort.dir) : rows;
  }, [rows, columns, sort]);

  return (
    <ScrollRegion className="table-wrap" label={caption ?? "Table"}>
      <table className="table" data-testid={testId}>
        {caption ? <caption className="sr-only">{caption}</caption> : null}
        <thead>
          <tr>
            {columns.map((c) => {
              const active = sort?.key === c.key;
              const ariaSort = active ? (sort?.dir === "asc" ? "ascending" : "descending") : undefined;
              return (
                <th key={c.key} className={`${c.align === "right" ? "num" : ""} ${c.className ?? ""}`} aria-sort={ariaSort}>
                  {c.sortValue ? (
                    <button type="button" className="th-sort" onClick={() => setSort(nextSort(sort, c.key, c.firstDir ?? "asc"))}>
                      {c.header}
                      <span className={`sort-arrow ${active ? "sort-arrow-active" : ""}`} aria-hidden="true">
                        {active ? (sort?.dir === "asc" ? "▲" : "▼") : "↕"}
                      </span>
                    </button>
                  ) : (
                    c.header
                  )}
                </th>
              );
            })}
          </tr>
        </thead>
        <tbody>
          {sorted.length === 0 && empty ? (
            <tr>
              <td colSpan={columns.length} className="table-empty">
                {empty}
              </td>
            </tr>
          ) : (
            sorted.map((r) => (
              <tr key={rowKey(r)} className={rowClassName?.(r)}>
                {columns.map((c) => (
                  <td key={c.key} className={`${c.align === "right" ? "num" : ""} ${c.className ?? ""}`}>
                    {c.render(r)}
                  </td>
                ))}
              </tr>
            ))
          )}
        </tbody>
      </table>
    </ScrollRegion>
  );
}
