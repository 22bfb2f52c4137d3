import type { Catalog, Job } from "@caretflow/contracts";
import { useMemo, useState } from "react";
import { Link } from "react-router-dom";
import { useNow, useReloadWhile, useResource } from "../../api/context.tsx";
import { elapsedMs, formatDuration, formatRelative } from "../../lib/format.ts";
import { matchesFilter } from "../../lib/sort.ts";
import { EmptyState, ErrorBox, Skeleton } from "../../ui/feedback.tsx";
import { Card, PageHeader, StatusBadge } from "../../ui/layout.tsx";
import { DataTable } from "../../ui/table.tsx";
import { isTerminal } from "./job.state.ts";
import { describeJob, jobOutcome, jobRequest } from "./jobs.helpers.ts";

export function JobsPage() {
  const jobs = useResource((api) => api.listJobs(), "jobs");
  const catalog = useResource((api) => api.catalog(), "catalog").data;
  const [filter, setFilter] = useState("");
  const now = useNow(true, 5000);
  // While any job is queued or running, the list refreshes itself; finished lists stay still.
  const active = (jobs.data ?? []).some((j) => !isTerminal(j.status));
  useReloadWhile(active, jobs.reload, 3000);
  const byId = useMemo(() => new Map((jobs.data ?? []).map((j) => [j.id, j])), [jobs.data]);
  const rows = useMemo(
    () => (jobs.data ?? []).filter((j) => matchesFilter(filter, [describeJob(j, catalog), j.status, j.kind, j.id])),
    [jobs.data, filter, catalog],
  );

  return (
    <div className="page">
      <PageHeader
        title="Jobs"
        subtitle="Training, operation, evaluation and batch prediction jobs, newest first."
        actions={
          <button type="button" className="btn" onClick={jobs.reload}>
            Refresh
          </button>
        }
      />
      {jobs.error ? <ErrorBox error={jobs.error} onRetry={jobs.reload} /> : null}
      {!jobs.data ? (
        <Skeleton lines={5} />
      ) : jobs.data.length === 0 ? (
        <EmptyState
          title="No jobs yet"
          action={
            <Link className="btn btn-primary" to="/train">
              Train a model
            </Link>
          }
        >
          Jobs appear here when you train a model or score a dataset.
        </EmptyState>
      ) : (
        <Card
          actions={
            <input
              className="filter-input"
              type="search"
              placeholder="Filter"
              aria-label="Filter jobs"
              value={filter}
              onChange={(e) => setFilter(e.target.value)}
            />
          }
        >
          <DataTable
            rows={rows}
            rowKey={(j) => j.id}
            initialSort={{ key: "created", dir: "desc" }}
            testId="jobs-table"
            caption="Jobs"
            columns={[
              {
                key: "what",
                header: "Job",
                sortValue: (j) => describeJob(j, catalog),
                render: (j) => <JobCell job={j} byId={byId} catalog={catalog} />,
              },
              { key: "kind", header: "Kind", sortValue: (j) => j.kind, render: (j) => j.kind },
              { key: "status", header: "Status", sortValue: (j) => j.status, render: (j) => <StatusBadge status={j.status} /> },
              { key: "result", header: "Result", render: (j) => jobOutcome(j) },
              { key: "created", header: "Started", sortValue: (j) => j.createdAt, render: (j) => formatRelative(j.createdAt, now) },
              {
                key: "dur",
                header: "Duration",
                align: "right",
                sortValue: (j) => elapsedMs(j.startedAt, j.finishedAt, now),
                render: (j) => formatDuration(elapsedMs(j.startedAt, j.finishedAt, now)),
              },
            ]}
          />
        </Card>
      )}
    </div>
  );
}

/** The job's name as a link; an evaluation also names the training or operation job it follows. */
function JobCell({ job, byId, catalog }: { job: Job; byId: Map<string, Job>; catalog: Catalog | undefined }) {
  const r = jobRequest(job);
  const after = r.kind === "evaluate" && r.req.after ? r.req.after : null;
  const followed = after ? byId.get(after) : undefined;
  return (
    <>
      <Link to={`/jobs/${encodeURIComponent(job.id)}`} className="strong-link">
        {describeJob(job, catalog)}
      </Link>
      {after ? (
        <div className="muted small" data-testid="evaluation-after">
          after{" "}
          <Link to={`/jobs/${encodeURIComponent(after)}`}>{followed ? describeJob(followed, catalog) : `job ${after.slice(0, 8)}`}</Link>
        </div>
      ) : null}
    </>
  );
}
