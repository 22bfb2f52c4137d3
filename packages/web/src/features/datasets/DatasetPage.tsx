import { type DatasetDetail, type DatasetVersion, describeSource } from "@caretflow/contracts";
import { lazy, Suspense } from "react";
import { Link, useParams, useSearchParams } from "react-router-dom";
import { useApi, useNow, useResource } from "../../api/context.tsx";
import { formatBytes, formatDateTime, formatNumber, formatRelative } from "../../lib/format.ts";
import { ErrorBox, Skeleton } from "../../ui/feedback.tsx";
import { Badge, Card, PageHeader, Stats, Tabs } from "../../ui/layout.tsx";
import { DataTable } from "../../ui/table.tsx";
import { CompareView } from "./CompareView.tsx";
import { PreviewTable } from "./PreviewTable.tsx";
import { ProfileView } from "./ProfileView.tsx";
import { QualityView } from "./QualityView.tsx";
import { TagEditor } from "./TagEditor.tsx";

// React Flow and dagre load with the Lineage tab, not with every dataset page.
const LineageView = lazy(() => import("./LineageView.tsx"));

type Tab = "preview" | "profile" | "quality" | "schema" | "versions" | "lineage" | "compare";
const tabs: { key: Tab; label: string }[] = [
  { key: "preview", label: "Preview" },
  { key: "profile", label: "Profile" },
  { key: "quality", label: "Quality" },
  { key: "schema", label: "Schema" },
  { key: "versions", label: "Versions" },
  { key: "lineage", label: "Lineage" },
  { key: "compare", label: "Compare" },
];

export function DatasetPage() {
  const { name = "" } = useParams();
  const [params, setParams] = useSearchParams();
  const detail = useResource((api) => api.getDataset(name), `dataset:${name}`);

  if (detail.error) return <ErrorBox error={detail.error} title={`Could not load ${name}`} onRetry={detail.reload} />;
  if (!detail.data)
    return (
      <div className="page">
        <PageHeader title={name} crumbs={<Link to="/data">Data</Link>} />
        <Skeleton lines={8} />
      </div>
    );

  const d = detail.data;
  const requested = Number(params.get("v"));
  const version = d.versions.find((v) => v.version === requested) ?? d.versions.find((v) => v.version === d.latestVersion) ?? d.versions[0];
  const tab = (tabs.find((t) => t.key === params.get("tab"))?.key ?? "preview") as Tab;
  const set = (patch: Record<string, string>) => setParams((p) => ({ ...Object.fromEntries(p), ...patch }), { replace: true });

  if (!version) return <ErrorBox error={new Error(`${name} has no versions`)} />;
  return (
    <div className="page">
      <DatasetHeader d={d} version={version} onVersion={(v) => set({ v: String(v) })} />
      <TagEditor dataset={d.name} tags={d.tags ?? []} description={d.description} onChanged={detail.reload} />
      <Tabs tabs={tabs} active={tab} onChange={(t) => set({ tab: t })} />
      {tab === "preview" ? <PreviewTable key={`p${version.version}`} dataset={name} version={version.version} /> : null}
      {tab === "profile" ? <ProfileView key={`f${version.version}`} dataset={name} version={version.version} /> : null}
      {tab === "quality" ? <QualityView key={`q${version.version}`} dataset={name} version={version} /> : null}
      {tab === "schema" ? <SchemaTable version={version} /> : null}
      {tab === "versions" ? <VersionsTable d={d} onPick={(v) => set({ v: String(v), tab: "preview" })} /> : null}
      {tab === "lineage" ? (
        <Suspense fallback={<Skeleton lines={6} />}>
          <LineageView key={name} dataset={name} />
        </Suspense>
      ) : null}
      {tab === "compare" ? <CompareView key={`${name}:${version.version}`} d={d} current={version.version} /> : null}
    </div>
  );
}

function DatasetHeader({ d, version, onVersion }: { d: DatasetDetail; version: DatasetVersion; onVersion: (v: number) => void }) {
  const api = useApi();
  const now = useNow(false);
  const src = version.source;
  return (
    <>
      <PageHeader
        crumbs={<Link to="/data">Data</Link>}
        title={
          <>
            {d.name}{" "}
            <select
              className="version-select"
              aria-label="Version"
              value={version.version}
              onChange={(e) => onVersion(Number(e.target.value))}
            >
              {d.versions.map((v) => (
                <option key={v.version} value={v.version}>
                  v{v.version}
                  {v.version === d.latestVersion ? " (latest)" : ""}
                </option>
              ))}
            </select>
          </>
        }
        subtitle={d.description}
        actions={
          <>
            <a className="btn" href={api.downloadUrl(d.name, version.version)} download={`${d.name}-v${version.version}.csv`}>
              Download CSV
            </a>
            <Link className="btn btn-primary" to={`/train?dataset=${encodeURIComponent(d.name)}&version=${version.version}`}>
              Train a model
            </Link>
          </>
        }
      />
      <Stats
        items={[
          { label: "Rows", value: formatNumber(version.rowCount) },
          { label: "Columns", value: version.columnCount },
          { label: "Stored", value: formatBytes(version.sizeBytes) },
          { label: "Imported", value: <span title={formatDateTime(version.createdAt)}>{formatRelative(version.createdAt, now)}</span> },
          {
            label: "Source",
            value: src.parent ? (
              <Link to={`/data/${encodeURIComponent(src.parent.dataset)}?v=${src.parent.version}`}>
                predictions of {src.parent.dataset} v{src.parent.version}
              </Link>
            ) : (
              describeSource(src)
            ),
          },
        ]}
      />
    </>
  );
}

function SchemaTable({ version }: { version: DatasetVersion }) {
  return (
    <Card>
      <DataTable
        rows={version.columns}
        rowKey={(c) => c.name}
        testId="schema-table"
        caption={`Columns of ${version.dataset} v${version.version}`}
        columns={[
          {
            key: "i",
            header: "#",
            align: "right",
            sortValue: (c) => version.columns.indexOf(c),
            render: (c) => version.columns.indexOf(c) + 1,
          },
          { key: "name", header: "Column", sortValue: (c) => c.name, render: (c) => <code>{c.name}</code> },
          { key: "kind", header: "Type", sortValue: (c) => c.kind, render: (c) => <Badge tone="info">{c.kind}</Badge> },
          {
            key: "duck",
            header: "Stored as",
            sortValue: (c) => c.duckdbType,
            render: (c) => <span className="muted mono">{c.duckdbType}</span>,
          },
          { key: "null", header: "Nullable", sortValue: (c) => c.nullable, render: (c) => (c.nullable ? "yes" : "no") },
        ]}
      />
    </Card>
  );
}

function VersionsTable({ d, onPick }: { d: DatasetDetail; onPick: (v: number) => void }) {
  const now = useNow(false);
  return (
    <Card>
      <DataTable
        rows={d.versions}
        rowKey={(v) => String(v.version)}
        initialSort={{ key: "v", dir: "desc" }}
        testId="versions-table"
        caption={`Versions of ${d.name}`}
        columns={[
          {
            key: "v",
            header: "Version",
            sortValue: (v) => v.version,
            render: (v) => (
              <button type="button" className="link-button" onClick={() => onPick(v.version)}>
                v{v.version}
              </button>
            ),
          },
          { key: "rows", header: "Rows", align: "right", sortValue: (v) => v.rowCount, render: (v) => formatNumber(v.rowCount) },
          { key: "cols", header: "Columns", align: "right", sortValue: (v) => v.columnCount, render: (v) => v.columnCount },
          { key: "size", header: "Size", align: "right", sortValue: (v) => v.sizeBytes, render: (v) => formatBytes(v.sizeBytes) },
          { key: "src", header: "Source", render: (v) => describeSource(v.source) },
          {
            key: "hash",
            header: "Content hash",
            render: (v) => (
              <span className="mono muted" title={v.contentHash}>
                {v.contentHash.slice(0, 12)}
              </span>
            ),
          },
          { key: "at", header: "Created", sortValue: (v) => v.createdAt, render: (v) => formatRelative(v.createdAt, now) },
        ]}
      />
    </Card>
  );
}
