import type { DatasetSummary } from "@caretflow/contracts";
import { useMemo, useState } from "react";
import { Link, useNavigate } from "react-router-dom";
import { useNow, useResource } from "../../api/context.tsx";
import { formatNumber, formatRelative } from "../../lib/format.ts";
import { EmptyState, ErrorBox, Skeleton } from "../../ui/feedback.tsx";
import { Badge, Card, PageHeader } from "../../ui/layout.tsx";
import { type Column, DataTable } from "../../ui/table.tsx";
import { type CatalogFilter, CatalogFilters, catalogQuery, NO_FILTER, useDebounced } from "./CatalogFilters.tsx";
import { UploadZone } from "./UploadZone.tsx";
import "./catalog.css";

export function DatasetsPage() {
  const datasets = useResource((api) => api.listDatasets(), "datasets");
  const [filter, setFilter] = useState<CatalogFilter>(NO_FILTER);
  // The server searches (names, descriptions, column names, tags); typing asks again after a short pause.
  const query = catalogQuery(useDebounced(filter));
  const queryKey = JSON.stringify(query);
  const filtered = queryKey !== "{}";
  const found = useResource((api) => (filtered ? api.searchDatasets(query) : Promise.resolve(null)), `datasets?${queryKey}`);
  const navigate = useNavigate();
  const now = useNow(false);

  const rows = filtered ? (found.data?.datasets ?? []) : (datasets.data ?? []);
  const tags = useMemo(() => [...new Set((datasets.data ?? []).flatMap((d) => d.tags ?? []))].sort(), [datasets.data]);
  const owners = useMemo(() => [...new Set((datasets.data ?? []).flatMap((d) => (d.owner ? [d.owner] : [])))].sort(), [datasets.data]);
  const columns: Column<DatasetSummary>[] = [
    {
      key: "name",
      header: "Name",
      sortValue: (d) => d.name,
      render: (d) => (
        <Link to={`/data/${encodeURIComponent(d.name)}`} className="strong-link">
          {d.name}
        </Link>
      ),
    },
    {
      key: "rows",
      header: "Rows",
      align: "right",
      firstDir: "desc",
      sortValue: (d) => d.rowCount,
      render: (d) => formatNumber(d.rowCount),
    },
    { key: "cols", header: "Columns", align: "right", firstDir: "desc", sortValue: (d) => d.columnCount, render: (d) => d.columnCount },
    {
      key: "versions",
      header: "Versions",
      align: "right",
      firstDir: "desc",
      sortValue: (d) => d.versionCount,
      render: (d) => `v${d.latestVersion}`,
    },
    {
      key: "tags",
      header: "Tags",
      render: (d) => (
        <span className="tag-list">
          {(d.tags ?? []).map((t) => (
            <Badge key={t} tone="info">
              {t}
            </Badge>
          ))}
        </span>
      ),
    },
    { key: "source", header: "Source", sortValue: (d) => d.source?.kind ?? "", render: (d) => d.source?.kind ?? "" },
    { key: "owner", header: "Owner", sortValue: (d) => d.owner ?? "", render: (d) => d.owner ?? <span className="muted">unknown</span> },
    { key: "updated", header: "Updated", firstDir: "desc", sortValue: (d) => d.updatedAt, render: (d) => formatRelative(d.updatedAt, now) },
    {
      key: "actions",
      header: <span className="sr-only">Actions</span>,
      render: (d) => (
        <Link className="btn btn-small" to={`/train?dataset=${encodeURIComponent(d.name)}`}>
          Train
        </Link>
      ),
    },
  ];

  const empty = datasets.data && datasets.data.length === 0;
  return (
    <div className="page">
      <PageHeader
        title="Data"
        subtitle="Every import is an immutable, versioned dataset you can preview, profile and train on."
        actions={
          <Link className="btn" to="/transforms">
            New SQL transform
          </Link>
        }
      />
      {empty ? (
        <Card>
          <EmptyState title="No datasets yet — drop a CSV here">
            Start with a file from your computer. caretflow stores it as a versioned dataset with its schema and a profile of every column.
          </EmptyState>
          <UploadZone
            large
            onImported={(r) => {
              // the list is read again too: coming back while the dataset page loads shows the new dataset
              datasets.reload();
              navigate(`/data/${encodeURIComponent(r.version.dataset)}`);
            }}
          />
        </Card>
      ) : (
        <>
          <Card title="Import a file">
            <UploadZone onImported={() => datasets.reload()} />
          </Card>
          <Card title="Datasets" actions={<CatalogFilters value={filter} onChange={setFilter} tags={tags} owners={owners} />}>
            {datasets.error ? <ErrorBox error={datasets.error} onRetry={datasets.reload} /> : null}
            {filtered && found.error ? <ErrorBox error={found.error} onRetry={found.reload} /> : null}
            {datasets.loading && !datasets.data ? (
              <Skeleton lines={4} />
            ) : (
              <DataTable
                rows={rows}
                columns={columns}
                rowKey={(d) => d.name}
                initialSort={{ key: "updated", dir: "desc" }}
                empty={filtered && found.loading ? "Searching…" : "No dataset matches these filters."}
                testId="datasets-table"
                caption="Datasets"
              />
            )}
          </Card>
        </>
      )}
    </div>
  );
}
