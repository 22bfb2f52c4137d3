import { useState } from "react";
import { useResource } from "../../api/context.tsx";
import { formatCell, formatNumber } from "../../lib/format.ts";
import { ErrorBox, Skeleton } from "../../ui/feedback.tsx";
import { Card } from "../../ui/layout.tsx";
import { ScrollRegion } from "../../ui/scroll.tsx";

const pageSizes = [25, 50, 100, 250];

/** A page of rows with next/prev; the server does the paging (offset/limit), so any size of dataset is cheap to browse. */
export function PreviewTable({ dataset, version }: { dataset: string; version: number }) {
  const [offset, setOffset] = useState(0);
  const [limit, setLimit] = useState(50);
  const page = useResource((api) => api.preview(dataset, version, offset, limit), `${dataset}/${version}/${offset}/${limit}`);
  const p = page.data;

  return (
    <Card
      actions={
        <div className="pager">
          <span className="muted small" data-testid="preview-range">
            {p
              ? p.total === 0
                ? "No rows"
                : `Rows ${formatNumber(p.offset + 1)}–${formatNumber(Math.min(p.offset + p.rows.length, p.total))} of ${formatNumber(p.total)}`
              : "…"}
          </span>
          <select
            aria-label="Rows per page"
            value={limit}
            onChange={(e) => {
              setLimit(Number(e.target.value));
              setOffset(0);
            }}
          >
            {pageSizes.map((n) => (
              <option key={n} value={n}>
                {n} / page
              </option>
            ))}
          </select>
          <button type="button" className="btn btn-small" disabled={offset === 0} onClick={() => setOffset(Math.max(0, offset - limit))}>
            ‹ Prev
          </button>
          <button
            type="button"
            className="btn btn-small"
            disabled={!p || offset + limit >= p.total}
            onClick={() => setOffset(offset + limit)}
          >
            Next ›
          </button>
        </div>
      }
    >
      {page.error ? <ErrorBox error={page.error} onRetry={page.reload} /> : null}
      {!p ? (
        <Skeleton lines={10} />
      ) : (
        <ScrollRegion className={`table-wrap ${page.loading ? "stale" : ""}`} label={`Rows of ${dataset} v${version}`}>
          <table className="table table-compact" data-testid="preview-table">
            <caption className="sr-only">
              Rows of {dataset} v{version}
            </caption>
            <thead>
              <tr>
                <th className="num muted">#</th>
                {p.columns.map((c) => (
                  <th key={c.name} className={isNumeric(c.kind) ? "num" : ""} title={c.duckdbType}>
                    {c.name}
                  </th>
                ))}
              </tr>
            </thead>
            <tbody>
              {p.rows.map((r, i) => (
                // biome-ignore lint/suspicious/noArrayIndexKey: the row number is the row's identity in a page
                <tr key={p.offset + i}>
                  <td className="num muted">{p.offset + i + 1}</td>
                  {r.map((cell, j) => {
                    const col = p.columns[j];
                    return (
                      // biome-ignore lint/suspicious/noArrayIndexKey: a cell's position is its column
                      <td key={j} className={`${col && isNumeric(col.kind) ? "num" : ""} ${cell === null ? "null-cell" : ""}`}>
                        {cell === null ? "null" : formatCell(cell)}
                      </td>
                    );
                  })}
                </tr>
              ))}
            </tbody>
          </table>
        </ScrollRegion>
      )}
    </Card>
  );
}

function isNumeric(kind: string): boolean {
  return kind === "integer" || kind === "float";
}
