import { Link } from "react-router-dom";
import { useNow, useReloadWhile, useResource } from "../../api/context.tsx";
import { formatDateTime, formatRelative } from "../../lib/format.ts";
import { EmptyState, ErrorBox, Skeleton } from "../../ui/feedback.tsx";
import { Card, PageHeader, StatusBadge } from "../../ui/layout.tsx";
import { DataTable } from "../../ui/table.tsx";
import { isRunActive } from "./pipeline.runs.ts";
import "./pipelines.css";

/** The project's pipelines: revision, steps, schedule with its next time, and the last run. */
export function PipelinesPage() {
  const pipelines = useResource((a) => a.listPipelines(), "pipelines");
  const active = (pipelines.data ?? []).some((p) => p.lastRun && isRunActive(p.lastRun.status));
  const now = useNow(true, 30_000);
  useReloadWhile(active, pipelines.reload, 3000);

  const newButton = (
    <Link className="btn btn-primary" to="/pipelines/_new" data-testid="new-pipeline">
      New pipeline
    </Link>
  );
  return (
    <div className="page">
      <PageHeader
        title="Pipelines"
        subtitle="Steps that import, check, transform, train and publish, run in order on a schedule, on an event or by hand."
        actions={
          <>
            <Link className="btn" to="/pipeline-runs">
              All runs
            </Link>
            {newButton}
          </>
        }
      />
      {pipelines.error ? <ErrorBox error={pipelines.error} onRetry={pipelines.reload} /> : null}
      {!pipelines.data ? (
        pipelines.error ? null : (
          <Skeleton lines={5} />
        )
      ) : pipelines.data.length === 0 ? (
        <EmptyState title="No pipelines yet" action={newButton}>
          Build one on the canvas, or paste a pipeline file into the builder's YAML tab.
        </EmptyState>
      ) : (
        <Card>
          <DataTable
            rows={pipelines.data}
            rowKey={(p) => p.name}
            initialSort={{ key: "name", dir: "asc" }}
            testId="pipelines-table"
            caption="Pipelines"
            columns={[
              {
                key: "name",
                header: "Pipeline",
                sortValue: (p) => p.name,
                render: (p) => (
                  <>
                    <Link className="strong-link" to={`/pipelines/${encodeURIComponent(p.name)}`}>
                      {p.name}
                    </Link>
                    {p.description ? <div className="muted small">{p.description}</div> : null}
                  </>
                ),
              },
              { key: "revision", header: "Revision", align: "right", sortValue: (p) => p.revision, render: (p) => p.revision },
              { key: "steps", header: "Steps", align: "right", sortValue: (p) => p.steps, render: (p) => p.steps },
              {
                key: "schedule",
                header: "Schedule",
                sortValue: (p) => p.schedule?.next ?? "",
                render: (p) =>
                  p.schedule ? (
                    <>
                      <code>{p.schedule.cron}</code> <span className="muted small">{p.schedule.timezone}</span>
                      <div className="muted small">{p.schedule.next ? `next ${formatDateTime(p.schedule.next)}` : "no next time"}</div>
                    </>
                  ) : (
                    <span className="muted">by hand or trigger</span>
                  ),
              },
              {
                key: "last",
                header: "Last run",
                sortValue: (p) => p.lastRun?.createdAt ?? "",
                render: (p) =>
                  p.lastRun ? (
                    <Link to={`/pipeline-runs/${encodeURIComponent(p.lastRun.id)}`} data-testid="last-run">
                      <StatusBadge status={p.lastRun.status} /> <span className="small">{formatRelative(p.lastRun.createdAt, now)}</span>
                    </Link>
                  ) : (
                    <span className="muted">never run</span>
                  ),
              },
              { key: "updated", header: "Updated", sortValue: (p) => p.updatedAt, render: (p) => formatRelative(p.updatedAt, now) },
            ]}
          />
        </Card>
      )}
    </div>
  );
}
