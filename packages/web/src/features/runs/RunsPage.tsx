import type { RunSummary } from "@caretflow/contracts";
import { useMemo, useState } from "react";
import { Link, useNavigate } from "react-router-dom";
import { useNow, useResource } from "../../api/context.tsx";
import { headlineMetric, modelName, taskLabel } from "../../lib/catalog.ts";
import { formatMetric, formatRelative } from "../../lib/format.ts";
import { matchesFilter } from "../../lib/sort.ts";
import { EmptyState, ErrorBox, Skeleton } from "../../ui/feedback.tsx";
import { Card, PageHeader, StatusBadge } from "../../ui/layout.tsx";
import { DataTable } from "../../ui/table.tsx";

export function RunsPage() {
  const runs = useResource((api) => api.listRuns(), "runs");
  const catalog = useResource((api) => api.catalog(), "catalog").data;
  const taskOf = (r: RunSummary) => catalog?.tasks.find((t) => t.task === r.task);
  const navigate = useNavigate();
  const [filter, setFilter] = useState("");
  const [picked, setPicked] = useState<string[]>([]);
  const toggle = (id: string) => setPicked((p) => (p.includes(id) ? p.filter((x) => x !== id) : [...p, id]));
  const now = useNow(false);
  const rows = useMemo(
    () =>
      (runs.data ?? []).filter((r) =>
        matchesFilter(filter, [r.name, r.dataset, r.task, taskLabel(catalog, r.task), r.bestModel, r.status, r.experimentName, r.target]),
      ),
    [runs.data, filter, catalog],
  );

  return (
    <div className="page">
      <PageHeader
        title="Experiments"
        subtitle="Every training run, of any task, tracked in MLflow with its parameters, metrics, charts and model."
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
            <>
              <button
                type="button"
                className="btn btn-small"
                disabled={picked.length < 2}
                data-testid="compare-runs"
                onClick={() => navigate(`/experiments/compare?runs=${picked.join(",")}`)}
              >
                Compare{picked.length > 0 ? ` (${picked.length})` : ""}
              </button>
              <input
                className="filter-input"
                type="search"
                placeholder="Filter runs"
                aria-label="Filter runs"
                value={filter}
                onChange={(e) => setFilter(e.target.value)}
              />
            </>
          }
        >
          <p className="muted small">Tick two or more runs, of any task, to compare their metrics and charts side by side.</p>
          <DataTable<RunSummary>
            rows={rows}
            rowKey={(r) => r.runId}
            initialSort={{ key: "time", dir: "desc" }}
            testId="runs-table"
            caption="Training runs"
            empty={`No run matches “${filter}”.`}
            columns={[
              {
                key: "pick",
                header: <span className="sr-only">Compare</span>,
                render: (r) => (
                  <input
                    type="checkbox"
                    checked={picked.includes(r.runId)}
                    onChange={() => toggle(r.runId)}
                    aria-label={`Compare ${r.name}`}
                    data-testid="pick-run"
                  />
                ),
              },
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
              { key: "task", header: "Task", sortValue: (r) => taskLabel(catalog, r.task), render: (r) => taskLabel(catalog, r.task) },
              { key: "target", header: "Target", sortValue: (r) => r.target, render: (r) => r.target ?? "—" },
              {
                key: "best",
                header: "Best model",
                sortValue: (r) => modelName(taskOf(r), r.bestModel),
                render: (r) => modelName(taskOf(r), r.bestModel) ?? "—",
              },
              {
                key: "metric",
                header: "Score",
                align: "right",
                firstDir: "desc",
                sortValue: (r) => headlineMetric(r, taskOf(r))?.value ?? null,
                render: (r) => {
                  const m = headlineMetric(r, taskOf(r));
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
