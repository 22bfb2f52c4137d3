import type { RunSummary } from "@caretflow/contracts";
import { useMemo, useState } from "react";
import { Link } from "react-router-dom";
import { useNow, useResource } from "../../api/context.tsx";
import { formatMetric, formatRelative } from "../../lib/format.ts";
import { modelDisplayName } from "../../lib/pycaret.ts";
import { matchesFilter } from "../../lib/sort.ts";
import { EmptyState, ErrorBox, Skeleton } from "../../ui/feedback.tsx";
import { Card, PageHeader, StatusBadge } from "../../ui/layout.tsx";
import { DataTable } from "../../ui/table.tsx";
import { headlineMetric, runTask } from "./runs.helpers.ts";

export function RunsPage() {
  const runs = useResource((api) => api.listRuns(), "runs");
  const [filter, setFilter] = useState("");
  const now = useNow(false);
  const rows = useMemo(
    () =>
      (runs.data ?? []).filter((r) =>
        matchesFilter(filter, [r.name, r.dataset, r.task, r.bestModel, r.status, r.experimentName, r.target]),
      ),
    [runs.data, filter],
  );

  return (
    <div className="page">
      <PageHeader
        title="Experiments"
        subtitle="Every training run, tracked in MLflow with its parameters, metrics, plots and model."
        actions={
          <Link className="btn btn-primary" to="/train">
            New training
          </Link>
        }
      />
      {runs.error ? <ErrorBox error={runs.error} onRetry={runs.reload} /> : null}
      {!runs.data && !runs.error ? (
        <Skeleton lines={5} />
      ) : runs.data?.length === 0 ? (
        <EmptyState
          title="No runs yet"
          action={
            <Link className="btn btn-primary" to="/train">
              Train a model
            </Link>
          }
        >
          Train a model on one of your datasets; each training becomes a run here.
        </EmptyState>
      ) : runs.data ? (
        <Card
          actions={
            <input
              className="filter-input"
              type="search"
              placeholder="Filter runs"
              aria-label="Filter runs"
              value={filter}
              onChange={(e) => setFilter(e.target.value)}
            />
          }
        >
          <DataTable<RunSummary>
            rows={rows}
            rowKey={(r) => r.runId}
            initialSort={{ key: "time", dir: "desc" }}
            testId="runs-table"
            caption="Training runs"
            empty={`No run matches “${filter}”.`}
            columns={[
              {
                key: "name",
                header: "Run",
                sortValue: (r) => r.name,
                render: (r) => (
                  <Link to={`/experiments/${r.runId}`} className="strong-link">
                    {r.name}
                  </Link>
                ),
              },
              { key: "dataset", header: "Dataset", sortValue: (r) => r.dataset, render: (r) => r.dataset ?? "—" },
              { key: "task", header: "Task", sortValue: (r) => runTask(r), render: (r) => runTask(r) ?? "—" },
              { key: "target", header: "Target", sortValue: (r) => r.target, render: (r) => r.target ?? "—" },
              {
                key: "best",
                header: "Best model",
                sortValue: (r) => modelDisplayName(r.bestModel, runTask(r)),
                render: (r) => modelDisplayName(r.bestModel, runTask(r)) ?? "—",
              },
              {
                key: "metric",
                header: "Score",
                align: "right",
                firstDir: "desc",
                sortValue: (r) => headlineMetric(r)?.value ?? null,
                render: (r) => {
                  const m = headlineMetric(r);
                  return m ? (
                    <span title={m.name}>
                      {formatMetric(m.value)} <span className="muted small">{m.name}</span>
                    </span>
                  ) : (
                    "—"
                  );
                },
              },
              { key: "status", header: "Status", sortValue: (r) => r.status, render: (r) => <StatusBadge status={r.status} /> },
              {
                key: "time",
                header: "Started",
                firstDir: "desc",
                sortValue: (r) => r.startTime,
                render: (r) => formatRelative(r.startTime, now),
              },
            ]}
          />
        </Card>
      ) : null}
    </div>
  );
}
