import type { DatasetSummary } from "@caretflow/contracts";
import { useMemo, useState } from "react";
import { Link, useNavigate } from "react-router-dom";
import { useNow, useResource } from "../../api/context.tsx";
import { formatNumber, formatRelative } from "../../lib/format.ts";
import { matchesFilter } from "../../lib/sort.ts";
import { EmptyState, ErrorBox, Skeleton } from "../../ui/feedback.tsx";
import { Card, PageHeader } from "../../ui/layout.tsx";
import { type Column, DataTable } from "../../ui/table.tsx";
import { UploadZone } from "./UploadZone.tsx";

export function DatasetsPage() {
  const datasets = useResource((api) => api.listDatasets(), "datasets");
  const [filter, setFilter] = useState("");
  const navigate = useNavigate();
  const now = useNow(false);

  const rows = useMemo(() => (datasets.data ?? []).filter((d) => matchesFilter(filter, [d.name, d.description])), [datasets.data, filter]);
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
          <Card
            title="Datasets"
            actions={
              <input
                className="filter-input"
                type="search"
                placeholder="Filter by name"
                aria-label="Filter datasets by name"
                value={filter}
                onChange={(e) => setFilter(e.target.value)}
              />
            }
          >
            {datasets.error ? <ErrorBox error={datasets.error} onRetry={datasets.reload} /> : null}
            {datasets.loading && !datasets.data ? (
              <Skeleton lines={4} />
            ) : (
              <DataTable
                rows={rows}
                columns={columns}
                rowKey={(d) => d.name}
                initialSort={{ key: "updated", dir: "desc" }}
                empty={`No dataset matches “${filter}”.`}
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
