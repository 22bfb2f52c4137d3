import { PipelineRunStatus, PipelineTriggerKind } from "@caretflow/contracts";
import { Link, useSearchParams } from "react-router-dom";
import { useNow, useReloadWhile, useResource } from "../../api/context.tsx";
import { elapsedMs, formatDuration, formatRelative } from "../../lib/format.ts";
import { EmptyState, ErrorBox, Skeleton } from "../../ui/feedback.tsx";
import { Card, PageHeader, StatusBadge } from "../../ui/layout.tsx";
import { DataTable } from "../../ui/table.tsx";
import { isRunActive, type RunFilters, readRunFilters, stepCountsText, writeRunFilters } from "./pipeline.runs.ts";
import { RunActions } from "./RunControls.tsx";
import "./pipelines.css";

/** Every pipeline run, newest first, filtered by pipeline, state and what started it (kept in the address). */
export function PipelineRunsPage() {
  const [search, setSearch] = useSearchParams();
  const filters = readRunFilters(search);
  const key = writeRunFilters(filters).toString();
  const runs = useResource((a) => a.listPipelineRuns({ ...filters, limit: 200 }), `pipeline-runs?${key}`);
  const pipelines = useResource((a) => a.listPipelines(), "pipelines");
  const active = (runs.data ?? []).some((r) => isRunActive(r.status));
  const now = useNow(active);
  useReloadWhile(active, runs.reload, 2000);
  const setFilter = (name: keyof RunFilters, value: string) => setSearch(writeRunFilters({ ...filters, [name]: value || undefined }));

  return (
    <div className="page">
      <PageHeader
        crumbs={<Link to="/pipelines">Pipelines</Link>}
        title="Pipeline runs"
        subtitle="Every run with its steps, attempts, logs and outputs, newest first."
        actions={
          <button type="button" className="btn" onClick={runs.reload}>
            Refresh
          </button>
        }
      />
      <Card
        actions={
          <fieldset className="pl-filters">
            <legend className="sr-only">Filters</legend>
            <select aria-label="Pipeline" value={filters.pipeline ?? ""} onChange={(e) => setFilter("pipeline", e.target.value)}>
              <option value="">every pipeline</option>
              {[...new Set([...(pipelines.data ?? []).map((p) => p.name), ...(filters.pipeline ? [filters.pipeline] : [])])].map((n) => (
                <option key={n} value={n}>
                  {n}
                </option>
              ))}
            </select>
            <select aria-label="Status" value={filters.status ?? ""} onChange={(e) => setFilter("status", e.target.value)}>
              <option value="">any status</option>
              {PipelineRunStatus.options.map((s) => (
                <option key={s} value={s}>
                  {s}
                </option>
              ))}
            </select>
            <select aria-label="Started by" value={filters.trigger ?? ""} onChange={(e) => setFilter("trigger", e.target.value)}>
              <option value="">any trigger</option>
              {PipelineTriggerKind.options.map((s) => (
                <option key={s} value={s}>
                  {s.replace(/_/g, " ")}
                </option>
              ))}
            </select>
          </fieldset>
        }
      >
        {runs.error ? <ErrorBox error={runs.error} onRetry={runs.reload} /> : null}
        {!runs.data ? (
          runs.error ? null : (
            <Skeleton lines={5} />
          )
        ) : runs.data.length === 0 ? (
          <EmptyState title="No runs">{key ? "No run matches these filters." : "Runs appear here once a pipeline runs."}</EmptyState>
        ) : (
          <DataTable
            rows={runs.data}
            rowKey={(r) => r.id}
            initialSort={{ key: "created", dir: "desc" }}
            testId="pipeline-runs-table"
            caption="Pipeline runs"
            columns={[
              {
                key: "run",
                header: "Run",
                render: (r) => (
                  <Link className="strong-link" to={`/pipeline-runs/${encodeURIComponent(r.id)}`}>
                    {r.id.slice(0, 8)}
                  </Link>
                ),
              },
              {
                key: "pipeline",
                header: "Pipeline",
                sortValue: (r) => r.pipeline,
                render: (r) => (
                  <>
                    <Link to={`/pipelines/${encodeURIComponent(r.pipeline)}`}>{r.pipeline}</Link>{" "}
                    <span className="muted small">rev {r.revision}</span>
                  </>
                ),
              },
              { key: "status", header: "Status", sortValue: (r) => r.status, render: (r) => <StatusBadge status={r.status} /> },
              { key: "steps", header: "Steps", render: (r) => <span className="small">{stepCountsText(r.stepCounts)}</span> },
              {
                key: "trigger",
                header: "Started by",
                sortValue: (r) => r.trigger.kind,
                render: (r) => (
                  <span title={r.trigger.detail ?? undefined}>
                    {r.trigger.kind.replace(/_/g, " ")}
                    {r.createdBy ? <span className="muted small"> ({r.createdBy})</span> : null}
                  </span>
                ),
              },
              { key: "created", header: "Started", sortValue: (r) => r.createdAt, render: (r) => formatRelative(r.createdAt, now) },
              {
                key: "duration",
                header: "Duration",
                align: "right",
                sortValue: (r) => elapsedMs(r.startedAt, r.finishedAt, now),
                render: (r) => formatDuration(elapsedMs(r.startedAt, r.finishedAt, now)),
              },
              {
                key: "actions",
                header: <span className="sr-only">Actions</span>,
                render: (r) => <RunActions id={r.id} status={r.status} onDone={runs.reload} />,
              },
            ]}
          />
        )}
      </Card>
    </div>
  );
}
