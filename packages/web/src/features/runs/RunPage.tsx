import type { RunDetail } from "@caretflow/contracts";
import { Link, useParams } from "react-router-dom";
import { useApi, useResource } from "../../api/context.tsx";
import { formatDateTime, formatMetric } from "../../lib/format.ts";
import { defaultSortMetric, modelDisplayName, taskMetrics } from "../../lib/pycaret.ts";
import { EmptyState, ErrorBox, Skeleton } from "../../ui/feedback.tsx";
import { Card, PageHeader, Stats, StatusBadge } from "../../ui/layout.tsx";
import { DataTable } from "../../ui/table.tsx";
import { LeaderboardTable, MetricChart } from "../jobs/Leaderboard.tsx";
import { suggestModelName } from "../models/models.helpers.ts";
import { RegisterModelForm } from "../models/RegisterModelForm.tsx";
import { artifactTitle, childToRow, isImagePath, mlflowRunUrl, parseDatasetRef, runTask } from "./runs.helpers.ts";

export function RunPage() {
  const { runId = "" } = useParams();
  const run = useResource((api) => api.getRun(runId), `run:${runId}`);
  if (run.error) return <ErrorBox error={run.error} title="Could not load the run" onRetry={run.reload} />;
  if (!run.data)
    return (
      <div className="page">
        <PageHeader title="Run" crumbs={<Link to="/experiments">Experiments</Link>} />
        <Skeleton lines={8} />
      </div>
    );
  return <RunView run={run.data} />;
}

function RunView({ run }: { run: RunDetail }) {
  const task = runTask(run);
  const ds = parseDatasetRef(run.dataset);
  const sort = run.params.sort ?? run.tags["caretflow.sort_metric"] ?? (task ? defaultSortMetric(task) : "");
  const known = task ? [...taskMetrics(task), "TT (Sec)", "TT_Sec"] : [];
  // The best model refitted on all data is a child run too; it is the result, not one of the compared models.
  const rows = run.children.filter((c) => c.runId !== run.bestRunId).map((c) => childToRow(c, task, known));
  const registerRunId = run.bestRunId ?? run.runId;
  const summaryMetrics = Object.entries(run.metrics).filter(([k]) => !/fold/i.test(k));

  return (
    <div className="page">
      <PageHeader
        crumbs={<Link to="/experiments">Experiments</Link>}
        title={
          <>
            {run.name} <StatusBadge status={run.status} />
          </>
        }
        subtitle={`${run.experimentName} · started ${formatDateTime(run.startTime)}`}
        actions={
          <>
            {run.parentRunId ? (
              <Link className="btn" to={`/experiments/${run.parentRunId}`}>
                Parent run
              </Link>
            ) : null}
            <a className="btn" href={mlflowRunUrl(run.experimentId, run.runId)} target="_blank" rel="noreferrer" data-testid="open-mlflow">
              Open in MLflow ↗
            </a>
          </>
        }
      />
      <Stats
        items={[
          {
            label: "Dataset",
            value: ds ? <Link to={`/data/${encodeURIComponent(ds.name)}${ds.version ? `?v=${ds.version}` : ""}`}>{run.dataset}</Link> : "—",
          },
          { label: "Task", value: task ?? "—" },
          { label: "Target", value: run.target ?? "—" },
          { label: "Best model", value: modelDisplayName(run.bestModel, task) ?? "—" },
          ...(run.jobId
            ? [{ label: "Job", value: <Link to={`/jobs/${encodeURIComponent(run.jobId)}`}>{run.jobId.slice(0, 8)}</Link> }]
            : []),
        ]}
      />

      {summaryMetrics.length > 0 ? (
        <Card title="Metrics">
          <Stats items={summaryMetrics.map(([k, v]) => ({ label: k, value: formatMetric(v) }))} />
        </Card>
      ) : null}

      {rows.length > 0 ? (
        <div className="stack">
          <Card title="Models compared" actions={<span className="muted small">{rows.length} child runs</span>}>
            <LeaderboardTable rows={rows} task={task} sortMetric={sort} runLink={(id) => `/experiments/${id}`} />
          </Card>
          <Card title={`${sort} per model`}>
            <MetricChart rows={rows} metric={sort} />
          </Card>
        </div>
      ) : null}

      {run.status === "FINISHED" && (run.bestRunId || run.artifacts.some((a) => a.path === "model" || a.path.startsWith("model/"))) ? (
        <Card title="Register this run's model">
          <RegisterModelForm runId={registerRunId} defaultName={suggestModelName(ds?.name, run.target)} />
        </Card>
      ) : null}

      <Plots run={run} />
      <Params run={run} />
    </div>
  );
}

/** Plots of this run, and of its best child when the engine logged them there. */
function Plots({ run }: { run: RunDetail }) {
  const best = useResource(
    (api) => (run.bestRunId && run.bestRunId !== run.runId ? api.getRun(run.bestRunId) : Promise.resolve(null)),
    `run:${run.bestRunId ?? "-"}`,
  );
  const own = run.artifacts.filter((a) => !a.isDir && isImagePath(a.path)).map((a) => ({ runId: run.runId, path: a.path }));
  const child = (best.data?.artifacts ?? [])
    .filter((a) => !a.isDir && isImagePath(a.path))
    .map((a) => ({ runId: best.data?.runId ?? "", path: a.path }));
  const plots = [...own, ...child];
  return (
    <Card title="Plots">
      {plots.length === 0 ? (
        best.loading ? (
          <Skeleton lines={3} />
        ) : (
          <EmptyState title="No plots logged for this run" />
        )
      ) : (
        <div className="plots" data-testid="plots">
          {plots.map((p) => (
            <Plot key={`${p.runId}/${p.path}`} runId={p.runId} path={p.path} />
          ))}
        </div>
      )}
    </Card>
  );
}

function Plot({ runId, path }: { runId: string; path: string }) {
  const api = useApi();
  const url = api.artifactUrl(runId, path);
  return (
    <figure className="plot">
      <a href={url} target="_blank" rel="noreferrer">
        <img src={url} alt={artifactTitle(path)} loading="lazy" />
      </a>
      <figcaption>{artifactTitle(path)}</figcaption>
    </figure>
  );
}

function Params({ run }: { run: RunDetail }) {
  const params = Object.entries(run.params).map(([k, v]) => ({ k, v }));
  const inputs = run.datasetInputs;
  if (params.length === 0 && inputs.length === 0) return null;
  return (
    <Card title="Parameters and inputs">
      <details open={params.length <= 20}>
        <summary>{params.length} parameters</summary>
        <DataTable
          rows={params}
          rowKey={(p) => p.k}
          initialSort={{ key: "k", dir: "asc" }}
          caption="Parameters"
          columns={[
            { key: "k", header: "Parameter", sortValue: (p) => p.k, render: (p) => <code>{p.k}</code> },
            { key: "v", header: "Value", sortValue: (p) => p.v, render: (p) => <span className="mono wrap">{p.v}</span> },
          ]}
        />
      </details>
      {inputs.length > 0 ? (
        <ul className="plain-list">
          {inputs.map((i) => (
            <li key={i.digest}>
              Dataset input <strong>{i.name}</strong> <span className="mono muted small">{i.digest.slice(0, 16)}</span>
            </li>
          ))}
        </ul>
      ) : null}
    </Card>
  );
}
