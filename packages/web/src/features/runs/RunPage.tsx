import type { RunDetail, TaskCatalog } from "@caretflow/contracts";
import { Link, useParams } from "react-router-dom";
import { useResource } from "../../api/context.tsx";
import { defaultSort, modelName, summaryMetrics, taskLabel } from "../../lib/catalog.ts";
import { formatDateTime, formatMetric } from "../../lib/format.ts";
import { ErrorBox, Skeleton } from "../../ui/feedback.tsx";
import { Card, PageHeader, Stats, StatusBadge } from "../../ui/layout.tsx";
import { DataTable } from "../../ui/table.tsx";
import { ChartsCard, ReportLink } from "../evaluate/ChartsCard.tsx";
import { useEvaluation } from "../evaluate/useEvaluation.ts";
import { LeaderboardTable, MetricChart } from "../jobs/Leaderboard.tsx";
import { suggestModelName } from "../models/models.helpers.ts";
import { RegisterModelForm } from "../models/RegisterModelForm.tsx";
import { MlflowLink } from "./MlflowLink.tsx";
import { OperationsPanel } from "./OperationsPanel.tsx";
import { operationLabel } from "./operation.form.ts";
import { childToRow, operationOf, parseDatasetRef, runRole } from "./runs.helpers.ts";

export function RunPage() {
  const { runId = "" } = useParams();
  const run = useResource((api) => api.getRun(runId), `run:${runId}`);
  const catalog = useResource((api) => api.catalog(), "catalog");
  if (run.error) return <ErrorBox error={run.error} title="Could not load the run" onRetry={run.reload} />;
  if (!run.data)
    return (
      <div className="page">
        <PageHeader title="Run" crumbs={<Link to="/experiments">Experiments</Link>} />
        <Skeleton lines={8} />
      </div>
    );
  return (
    <RunView
      key={run.data.runId}
      run={run.data}
      reload={run.reload}
      task={catalog.data?.tasks.find((t) => t.task === run.data?.task)}
      taskName={taskLabel(catalog.data, run.data.task)}
    />
  );
}

function RunView({ run, reload, task, taskName }: { run: RunDetail; reload: () => void; task: TaskCatalog | undefined; taskName: string }) {
  const ds = parseDatasetRef(run.dataset);
  const op = operationOf(run.tags);
  const sort = run.params.sort ?? run.tags["caretflow.sort_metric"] ?? defaultSort(task);
  // The run holding the model: a training's best run, or the run itself (a compared model, an operation).
  const modelRunId = run.bestRunId && run.bestRunId !== run.runId ? run.bestRunId : null;
  const modelRun = useResource((a) => (modelRunId ? a.getRun(modelRunId) : Promise.resolve(null)), `run:${modelRunId ?? "-"}`);
  // Siblings to blend or stack with: the parent's children, fetched when this is not the parent.
  const parent = useResource((a) => (run.parentRunId ? a.getRun(run.parentRunId) : Promise.resolve(null)), `run:${run.parentRunId ?? "-"}`);
  const operations = run.children.filter((c) => operationOf(c.tags));
  const models = run.children.filter((c) => !operationOf(c.tags) && c.runId !== run.bestRunId && runRole(c.tags) !== "final");
  const rows = models.map((c) => childToRow(c, [...(task?.metrics.map((m) => m.name) ?? []), "TT (Sec)", "TT_Sec"]));
  const sources = [
    { runId: run.runId, artifacts: run.artifacts },
    ...(modelRun.data ? [{ runId: modelRun.data.runId, artifacts: modelRun.data.artifacts }] : []),
  ];
  const family = run.parentRunId ? (parent.data?.children ?? []) : run.children;
  const sourceRun = modelRunId ?? run.runId;
  const otherRuns = family
    .filter((c) => c.runId !== sourceRun && c.status === "FINISHED")
    .map((c) => ({ runId: c.runId, label: `${c.bestModel ?? c.name} · ${c.runId.slice(0, 6)}` }));
  const canOperate = run.status === "FINISHED" && task !== undefined && run.jobId !== null;
  const holdsModel =
    run.status === "FINISHED" && (run.bestRunId !== null || run.artifacts.some((a) => a.path === "model" || a.path.startsWith("model/")));
  // The model's evaluation (charts, plots, SHAP, the report): followed while one runs, started again on request.
  const evaluation = useEvaluation({
    match: holdsModel ? { run: modelRunId ?? run.runId } : null,
    runId: holdsModel ? run.runId : null,
    expected: false,
    onFinished: () => {
      reload();
      modelRun.reload();
    },
  });

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
            <ReportLink sources={sources} />
            <MlflowLink experimentId={run.experimentId} runId={run.runId} testId="open-mlflow" />
          </>
        }
      />
      <Stats
        items={[
          {
            label: "Dataset",
            value: ds ? <Link to={`/data/${encodeURIComponent(ds.name)}${ds.version ? `?v=${ds.version}` : ""}`}>{run.dataset}</Link> : "—",
          },
          { label: "Task", value: taskName },
          ...(run.target ? [{ label: "Target", value: run.target }] : []),
          { label: "Model", value: modelName(task, run.bestModel) ?? "—" },
          ...(op
            ? [
                { label: "Operation", value: operationLabel(op.op) },
                {
                  label: "Source run",
                  value: op.sourceRunId ? (
                    <Link to={`/experiments/${op.sourceRunId}`} data-testid="source-run">
                      {op.sourceRunId.slice(0, 8)}
                    </Link>
                  ) : (
                    "—"
                  ),
                },
              ]
            : []),
          ...(run.jobId
            ? [{ label: "Job", value: <Link to={`/jobs/${encodeURIComponent(run.jobId)}`}>{run.jobId.slice(0, 8)}</Link> }]
            : []),
        ]}
      />

      {summaryMetrics(run.metrics).length > 0 ? (
        <Card title="Metrics">
          <Stats items={summaryMetrics(run.metrics).map(([k, v]) => ({ label: k, value: formatMetric(v) }))} />
        </Card>
      ) : null}

      {rows.length > 0 ? (
        <div className="stack">
          <Card title="Models compared" actions={<span className="muted small">{rows.length} child runs</span>}>
            <LeaderboardTable rows={rows} task={task} sortMetric={sort} runLink={(id) => `/experiments/${id}`} />
          </Card>
          {sort ? (
            <Card title={`${sort} per model`}>
              <MetricChart rows={rows} metric={sort} task={task} />
            </Card>
          ) : null}
        </div>
      ) : null}

      {operations.length > 0 ? (
        <Card title="Operations on this training's models">
          <DataTable
            rows={operations}
            rowKey={(c) => c.runId}
            initialSort={{ key: "time", dir: "desc" }}
            caption="Operation runs"
            testId="operation-runs"
            columns={[
              {
                key: "op",
                header: "Operation",
                sortValue: (c) => operationOf(c.tags)?.op,
                render: (c) => (
                  <Link to={`/experiments/${c.runId}`} className="strong-link">
                    {operationLabel(operationOf(c.tags)?.op ?? "")}
                  </Link>
                ),
              },
              { key: "model", header: "Model", sortValue: (c) => c.bestModel ?? c.name, render: (c) => c.bestModel ?? c.name },
              {
                key: "source",
                header: "From run",
                render: (c) => {
                  const src = operationOf(c.tags)?.sourceRunId;
                  return src ? (
                    <Link to={`/experiments/${src}`}>{run.children.find((x) => x.runId === src)?.name ?? src.slice(0, 8)}</Link>
                  ) : (
                    "—"
                  );
                },
              },
              ...(sort
                ? [
                    {
                      key: "m",
                      header: sort,
                      align: "right" as const,
                      sortValue: (c: RunDetail["children"][number]) => c.metrics[sort] ?? null,
                      render: (c: RunDetail["children"][number]) => formatMetric(c.metrics[sort]),
                    },
                  ]
                : []),
              { key: "status", header: "Status", sortValue: (c) => c.status, render: (c) => <StatusBadge status={c.status} /> },
              { key: "time", header: "Started", sortValue: (c) => c.startTime, render: (c) => formatDateTime(c.startTime) },
            ]}
          />
        </Card>
      ) : null}

      <ChartsCard
        evaluation={evaluation}
        sources={sources}
        loading={modelRun.loading && modelRunId !== null}
        task={task}
        canStart={holdsModel && run.jobId !== null}
        holdsModel={holdsModel}
      />

      {canOperate && task ? (
        <Card title="Improve this model">
          <OperationsPanel runId={run.runId} task={task} otherRuns={otherRuns} />
        </Card>
      ) : null}

      {holdsModel ? (
        <Card title="Register this run's model">
          <RegisterModelForm runId={run.bestRunId ?? run.runId} defaultName={suggestModelName(ds?.name, run.target)} />
        </Card>
      ) : null}

      <Params run={run} />
    </div>
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
