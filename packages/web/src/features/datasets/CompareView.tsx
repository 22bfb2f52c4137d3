import type { ColumnComparison, DatasetDetail } from "@caretflow/contracts";
import { useState } from "react";
import { useResource } from "../../api/context.tsx";
import { formatNumber } from "../../lib/format.ts";
import { EmptyState, ErrorBox, Skeleton } from "../../ui/feedback.tsx";
import { Badge, Card, Stats } from "../../ui/layout.tsx";
import { DataTable } from "../../ui/table.tsx";
import "./catalog.css";

const CHANGE_WORDS: Record<ColumnComparison["change"], string> = {
  added: "added",
  removed: "removed",
  type_changed: "type changed",
  unchanged: "same type",
};

/** Pick two versions and see them side by side: schema changes, row counts, each column's statistics; changed columns highlighted. */
export function CompareView({ d, current }: { d: DatasetDetail; current: number }) {
  const numbers = d.versions.map((v) => v.version);
  const [from, setFrom] = useState(() => Math.max(...numbers.filter((n) => n < current), Math.min(...numbers)));
  const [to, setTo] = useState(current);
  if (numbers.length < 2)
    return (
      <Card>
        <EmptyState title="Only one version">Import the dataset again to compare two versions.</EmptyState>
      </Card>
    );
  const picker = (label: string, value: number, set: (n: number) => void) => (
    <label>
      {label}{" "}
      <select aria-label={`Compare ${label}`} value={value} onChange={(e) => set(Number(e.target.value))}>
        {numbers.map((n) => (
          <option key={n} value={n}>
            v{n}
          </option>
        ))}
      </select>
    </label>
  );
  return (
    <Card>
      <div className="compare-pick">
        {picker("from", from, setFrom)}
        {picker("to", to, setTo)}
      </div>
      <Comparison dataset={d.name} from={from} to={to} />
    </Card>
  );
}

function Comparison({ dataset, from, to }: { dataset: string; from: number; to: number }) {
  const cmp = useResource((api) => api.compareVersions(dataset, from, to), `compare:${dataset}:${from}:${to}`);
  if (cmp.error) return <ErrorBox error={cmp.error} onRetry={cmp.reload} />;
  if (!cmp.data) return <Skeleton lines={5} />;
  const c = cmp.data;
  const delta = c.rowDelta === 0 ? "no change" : `${c.rowDelta > 0 ? "+" : ""}${formatNumber(c.rowDelta)}`;
  const pair = (col: ColumnComparison, pick: (s: NonNullable<ColumnComparison["from"]>) => unknown) => (
    <span className={col.from && col.to && fmt(pick(col.from)) !== fmt(pick(col.to)) ? "compare-diff" : undefined}>
      {col.from ? fmt(pick(col.from)) : "–"} → {col.to ? fmt(pick(col.to)) : "–"}
    </span>
  );
  return (
    <div data-testid="version-compare">
      <Stats
        items={[
          { label: "Rows", value: `${formatNumber(c.from.rowCount)} → ${formatNumber(c.to.rowCount)} (${delta})` },
          { label: "Columns", value: `${c.from.columnCount} → ${c.to.columnCount}` },
          { label: "Added", value: c.added.join(", ") || "none" },
          { label: "Removed", value: c.removed.join(", ") || "none" },
          { label: "Type changed", value: c.typeChanged.join(", ") || "none" },
        ]}
      />
      <DataTable
        rows={c.columns}
        rowKey={(col) => col.name}
        testId="compare-table"
        caption={`Columns of ${dataset}, v${from} against v${to}`}
        rowClassName={(col) =>
          col.change === "added"
            ? "compare-added"
            : col.change === "removed"
              ? "compare-removed"
              : col.changed
                ? "compare-changed"
                : undefined
        }
        columns={[
          { key: "name", header: "Column", sortValue: (col) => col.name, render: (col) => <code>{col.name}</code> },
          {
            key: "change",
            header: "Change",
            sortValue: (col) => (col.changed ? 0 : 1),
            render: (col) => (
              <Badge tone={col.change === "unchanged" ? (col.changed ? "warn" : "muted") : col.change === "removed" ? "bad" : "accent"}>
                {col.change === "unchanged" && col.changed ? "statistics changed" : CHANGE_WORDS[col.change]}
              </Badge>
            ),
          },
          { key: "type", header: "Type", render: (col) => pair(col, (s) => s.kind) },
          { key: "nulls", header: "Nulls", render: (col) => pair(col, (s) => s.nulls) },
          { key: "distinct", header: "Distinct", render: (col) => pair(col, (s) => s.distinct) },
          { key: "mean", header: "Mean", render: (col) => pair(col, (s) => s.mean) },
          { key: "std", header: "Std", render: (col) => pair(col, (s) => s.std) },
          { key: "min", header: "Min", render: (col) => pair(col, (s) => s.min) },
          { key: "max", header: "Max", render: (col) => pair(col, (s) => s.max) },
          {
            key: "top",
            header: "Top values",
            render: (col) =>
              pair(col, (s) =>
                s.topValues
                  .slice(0, 3)
                  .map((t) => `${t.value ?? "null"} (${t.count})`)
                  .join(", "),
              ),
          },
        ]}
      />
    </div>
  );
}

function fmt(v: unknown): string {
  if (v === null || v === undefined || v === "") return "–";
  if (typeof v === "number") return Number.isInteger(v) ? formatNumber(v) : v.toPrecision(4);
  return String(v);
}
