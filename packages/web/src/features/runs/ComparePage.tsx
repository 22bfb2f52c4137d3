import type { Catalog, RunDetail } from "@caretflow/contracts";
import { Link, useSearchParams } from "react-router-dom";
import type { ApiClient } from "../../api/client.ts";
import { useResource } from "../../api/context.tsx";
import { modelName, taskLabel } from "../../lib/catalog.ts";
import { EmptyState, ErrorBox, Skeleton } from "../../ui/feedback.tsx";
import { Card, PageHeader } from "../../ui/layout.tsx";
import { ScrollRegion } from "../../ui/scroll.tsx";
import { ChartSlot, chartPaths, type LoadedChart, loadCharts } from "../charts/RunCharts.tsx";
import { CompareMetricCharts } from "./CompareCharts.tsx";
import { CompareMetricsBody } from "./CompareMetricsBody.tsx";
import { chartRows, compareMetricRows, compareParamRows, runLabels } from "./compare.helpers.ts";
import { parseRunIds } from "./runs.helpers.ts";
import "./runs.css";

interface Compared {
  run: RunDetail;
  charts: LoadedChart[];
}

/** Each run with the charts of the run holding its model (its best run for a training). */
async function loadCompared(api: ApiClient, ids: string[], catalog: Catalog): Promise<Compared[]> {
  return Promise.all(
    ids.map(async (id) => {
      const run = await api.getRun(id);
      const model = run.bestRunId && run.bestRunId !== run.runId ? await api.getRun(run.bestRunId) : null;
      const sources = [
        { runId: run.runId, artifacts: run.artifacts },
        ...(model ? [{ runId: model.runId, artifacts: model.artifacts }] : []),
      ];
      const task = catalog.tasks.find((t) => t.task === run.task);
      return { run, charts: await loadCharts(api, chartPaths(sources, task)) };
    }),
  );
}

export function ComparePage() {
  const [search] = useSearchParams();
  const ids = parseRunIds(search.get("runs"));
  const catalog = useResource((api) => api.catalog(), "catalog");
  const data = useResource(
    (api) => (catalog.data ? loadCompared(api, ids, catalog.data) : Promise.resolve(null)),
    `compare:${ids.join(",")}:${catalog.data ? "c" : "-"}`,
  );
  const header = (
    <PageHeader crumbs={<Link to="/experiments">Experiments</Link>} title="Compare runs" subtitle={`${ids.length} runs side by side`} />
  );
  if (ids.length < 2)
    return (
      <div className="page">
        {header}
        <EmptyState
          title="Pick at least two runs"
          action={
            <Link className="btn btn-primary" to="/experiments">
              Choose runs
            </Link>
          }
        >
          Tick runs in the experiments list, then choose Compare.
        </EmptyState>
      </div>
    );
  const error = catalog.error ?? data.error;
  if (error) return <ErrorBox error={error} title="Could not load the runs" onRetry={data.reload} />;
  if (!data.data || !catalog.data)
    return (
      <div className="page">
        {header}
        <Skeleton lines={8} />
      </div>
    );
  const compared = data.data;
  const cat = catalog.data;
  const tasks = compared.map((c) => cat.tasks.find((t) => t.task === c.run.task));
  const metrics = compareMetricRows(
    compared.map((c) => c.run),
    tasks,
  );
  const params = compareParamRows(compared.map((c) => c.run));
  const labels = runLabels(compared.map((c) => c.run.name));
  const charts = chartRows(compared.map((c) => c.charts));
  const runHeader = (c: Compared, i: number) => (
    <th key={c.run.runId} scope="col">
      <Link to={`/experiments/${c.run.runId}`}>{c.run.name}</Link>
      <div className="muted small">
        {taskLabel(cat, c.run.task)} · {c.run.dataset ?? "—"} · {modelName(tasks[i], c.run.bestModel) ?? "—"}
      </div>
    </th>
  );
  return (
    <div className="page">
      {header}
      <Card title="Metrics" actions={<span className="muted small">best per metric highlighted, by the metric's direction</span>}>
        <ScrollRegion className="table-wrap" label="Metrics of the compared runs">
          <table className="table" data-testid="compare-metrics">
            <caption className="sr-only">Metrics of the compared runs</caption>
            <thead>
              <tr>
                <th scope="col">Metric</th>
                {compared.map(runHeader)}
              </tr>
            </thead>
            <CompareMetricsBody rows={metrics} />
          </table>
        </ScrollRegion>
      </Card>
      <Card
        title="Parameters"
        actions={<span className="muted small">{params.filter((p) => p.differs).length} differ, listed first and highlighted</span>}
      >
        {params.length === 0 ? (
          <p className="muted small">None of these runs logged parameters.</p>
        ) : (
          <ScrollRegion className="table-wrap" label="Parameters of the compared runs">
            <table className="table" data-testid="compare-params">
              <caption className="sr-only">Parameters of the compared runs</caption>
              <thead>
                <tr>
                  <th scope="col">Parameter</th>
                  {compared.map(runHeader)}
                </tr>
              </thead>
              <tbody>
                {params.map((p) => (
                  <tr key={p.param} data-differs={p.differs}>
                    <th scope="row">{p.param}</th>
                    {p.values.map((v, i) => (
                      <td key={compared[i]?.run.runId} className={p.differs ? "cell-differs" : undefined}>
                        {v ?? <span className="null-cell">not logged</span>}
                      </td>
                    ))}
                  </tr>
                ))}
              </tbody>
            </table>
          </ScrollRegion>
        )}
      </Card>
      <Card title="Metric charts">
        <CompareMetricCharts
          runs={compared.map((c) => c.run)}
          labels={labels}
          metrics={metrics.filter((m) => m.metric !== "TT (Sec)")}
          params={params}
        />
      </Card>
      <Card title="Run charts">
        {charts.length === 0 ? (
          <p className="muted small">None of these runs logged chart data.</p>
        ) : (
          <div className="compare-charts" data-testid="compare-charts">
            {charts.map((row) => (
              <section
                key={row.id}
                aria-label={`Chart ${row.id}`}
                className="compare-row"
                style={{ gridTemplateColumns: `repeat(${compared.length}, minmax(0, 1fr))` }}
              >
                {row.cells.map((cell, i) => (
                  <ChartSlot key={compared[i]?.run.runId} loaded={cell} />
                ))}
              </section>
            ))}
          </div>
        )}
      </Card>
    </div>
  );
}
