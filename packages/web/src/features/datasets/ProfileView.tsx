import type { ColumnProfile } from "@caretflow/contracts";
import { useMemo, useState } from "react";
import { Bar, BarChart, ResponsiveContainer, Tooltip, XAxis, YAxis } from "recharts";
import { useResource } from "../../api/context.tsx";
import { formatNumber, formatPercent } from "../../lib/format.ts";
import { matchesFilter } from "../../lib/sort.ts";
import { ErrorBox, Skeleton } from "../../ui/feedback.tsx";
import { Badge } from "../../ui/layout.tsx";
import { ProfileCharts } from "./ProfileCharts.tsx";
import { columnFlags, histogramPoints, topValueShares } from "./profile.helpers.ts";

export function ProfileView({ dataset, version }: { dataset: string; version: number }) {
  const profile = useResource((api) => api.profile(dataset, version), `${dataset}/${version}/profile`);
  const [filter, setFilter] = useState("");
  const cols = useMemo(() => (profile.data?.columns ?? []).filter((c) => matchesFilter(filter, [c.name, c.kind])), [profile.data, filter]);

  if (profile.error) return <ErrorBox error={profile.error} title="Could not profile this version" onRetry={profile.reload} />;
  if (!profile.data) return <Skeleton lines={10} />;
  return (
    <div data-testid="profile">
      <div className="toolbar">
        <span className="muted">
          {profile.data.columns.length} columns · {formatNumber(profile.data.rowCount)} rows
        </span>
        <input
          className="filter-input"
          type="search"
          placeholder="Filter columns"
          aria-label="Filter columns"
          value={filter}
          onChange={(e) => setFilter(e.target.value)}
        />
      </div>
      <ProfileCharts profile={profile.data} />
      <div className="profile-grid">
        {cols.map((c) => (
          <ColumnCard key={c.name} col={c} rowCount={profile.data?.rowCount ?? 0} />
        ))}
      </div>
    </div>
  );
}

function ColumnCard({ col, rowCount }: { col: ColumnProfile; rowCount: number }) {
  const numeric = col.mean !== null;
  const flags = columnFlags(col, rowCount);
  return (
    <section className="card column-card" data-testid="column-profile">
      <div className="column-card-head">
        <h2 className="column-name" title={col.name}>
          {col.name}
        </h2>
        <Badge tone="info">{col.kind}</Badge>
      </div>
      {flags.length ? (
        <div className="column-flags">
          {flags.map((f) => (
            <Badge key={f} tone="warn">
              {f}
            </Badge>
          ))}
        </div>
      ) : null}
      <dl className="mini-stats">
        <Stat label="Nulls" value={`${formatNumber(col.nulls)} (${formatPercent(col.nullFraction)})`} />
        <Stat label="Distinct" value={formatNumber(col.distinct)} />
        {numeric ? (
          <>
            <Stat label="Min" value={fmt(col.min)} />
            <Stat label="Max" value={fmt(col.max)} />
            <Stat label="Mean" value={formatNumber(col.mean, 3)} />
            <Stat label="Std" value={formatNumber(col.std, 3)} />
          </>
        ) : col.min !== null ? (
          <>
            <Stat label="Min" value={fmt(col.min)} />
            <Stat label="Max" value={fmt(col.max)} />
          </>
        ) : null}
      </dl>
      {col.histogram && col.histogram.length > 0 ? <Histogram col={col} /> : <TopValues col={col} />}
    </section>
  );
}

function Stat({ label, value }: { label: string; value: string }) {
  return (
    <div>
      <dt>{label}</dt>
      <dd title={value}>{value}</dd>
    </div>
  );
}

function fmt(v: number | string | null): string {
  return typeof v === "number" ? formatNumber(v, 3) : (v ?? "—");
}

function Histogram({ col }: { col: ColumnProfile }) {
  const data = histogramPoints(col.histogram ?? []);
  return (
    <div className="chart-small" role="img" aria-label={`Histogram of ${col.name}`}>
      <ResponsiveContainer width="100%" height={140}>
        <BarChart data={data} margin={{ top: 4, right: 4, bottom: 14, left: 4 }} barCategoryGap={1}>
          <XAxis
            dataKey="label"
            tick={{ fontSize: 10, fill: "var(--muted)" }}
            interval="preserveStartEnd"
            tickLine={false}
            axisLine={false}
            label={{ value: col.name, position: "insideBottom", offset: -10, fontSize: 11, fill: "var(--text-2)" }}
          />
          <YAxis
            tick={{ fontSize: 10, fill: "var(--muted)" }}
            tickLine={false}
            axisLine={false}
            allowDecimals={false}
            width={40}
            label={{ value: "rows", angle: -90, position: "insideLeft", fontSize: 11, fill: "var(--text-2)" }}
          />
          <Tooltip
            cursor={{ fill: "var(--accent-soft)" }}
            formatter={(v) => [formatNumber(Number(v)), "rows"]}
            labelFormatter={(_, p) => (p?.[0]?.payload as { range?: string } | undefined)?.range ?? ""}
          />
          <Bar dataKey="count" fill="var(--accent)" radius={[2, 2, 0, 0]} isAnimationActive={false} />
        </BarChart>
      </ResponsiveContainer>
    </div>
  );
}

function TopValues({ col }: { col: ColumnProfile }) {
  const tops = topValueShares(col);
  if (tops.length === 0) return <p className="muted small">No values to show.</p>;
  return (
    <ul className="top-values" aria-label={`Most frequent values of ${col.name}`}>
      {tops.map((t) => (
        <li key={t.value}>
          <span className="top-value-label" title={t.value}>
            {t.value}
          </span>
          <span className="top-value-bar">
            <span style={{ width: `${Math.max(2, t.share * 100)}%` }} />
          </span>
          <span className="top-value-count">{formatNumber(t.count)}</span>
        </li>
      ))}
    </ul>
  );
}
