import type { AlertRule, Deployment, DeploymentDriftRun, DriftFeature } from "@caretflow/contracts";
import { type ChangeEvent, useState } from "react";
import { Link } from "react-router-dom";
import { useApi, useReloadWhile, useResource } from "../../api/context.tsx";
import { formatDateTime } from "../../lib/format.ts";
import { EmptyState, ErrorBox, Skeleton, Spinner } from "../../ui/feedback.tsx";
import { Badge, Card, Stats } from "../../ui/layout.tsx";
import { DataTable } from "../../ui/table.tsx";
import { conditionText, stateTone } from "../alerts/alerts.helpers.ts";
import { ChartView } from "../charts/ChartView.tsx";
import {
  DEFAULT_DRIFT_THRESHOLDS,
  type DriftThresholdFields,
  driftChart,
  driftPending,
  driftRunText,
  driftThresholdsFrom,
  finishedDriftRuns,
  latencyChart,
  performanceChart,
  totals,
  trafficChart,
  WINDOWS,
  type WindowKey,
  windowLabel,
  windowQuery,
} from "./monitoring.helpers.ts";
import "./monitoring.css";

/**
 * The deployment's monitoring: requests, errors, latency and live performance per time bucket and version,
 * drift of its logged inputs over time with a check to run now, and the alert rules that watch it.
 */
export function DeploymentMonitoring({ deployment }: { deployment: Deployment }) {
  // One window for the figures and for a drift check started here.
  const [win, setWin] = useState<WindowKey>("24h");
  return (
    <div className="stack" data-testid="deployment-monitoring">
      <LiveFigures name={deployment.name} win={win} onWindow={setWin} />
      <DriftChecks name={deployment.name} win={win} />
      <DeploymentAlerts name={deployment.name} />
    </div>
  );
}

function LiveFigures({ name, win, onWindow: setWin }: { name: string; win: WindowKey; onWindow: (w: WindowKey) => void }) {
  const figures = useResource((a) => a.deploymentMonitoring(name, windowQuery(win, new Date())), `monitoring:${name}:${win}`);
  // New predictions and labels arrive on their own: read again now and then.
  useReloadWhile(figures.data !== undefined, figures.reload, 30_000);
  const m = figures.data;
  const sum = m ? totals(m) : null;
  const traffic = m ? trafficChart(m) : null;
  const latency = m ? latencyChart(m) : null;
  const performance = m ? performanceChart(m) : null;

  return (
    <Card
      title="Live figures"
      actions={
        <div className="monitoring-controls">
          <label className="monitoring-window">
            <span className="field-label">Window</span>
            <select name="window" value={win} onChange={(e) => setWin(e.target.value as WindowKey)}>
              {WINDOWS.map((w) => (
                <option key={w.key} value={w.key}>
                  {w.label}
                </option>
              ))}
            </select>
          </label>
          <button type="button" className="btn btn-small" onClick={figures.reload} disabled={figures.loading}>
            Refresh
          </button>
        </div>
      }
    >
      {figures.error ? <ErrorBox error={figures.error} onRetry={figures.reload} title="The figures could not be loaded" /> : null}
      {!m || !sum ? (
        figures.error ? null : (
          <Skeleton lines={4} />
        )
      ) : sum.requests === 0 ? (
        <EmptyState title="No predictions logged yet">
          Nothing reached <code>POST /api/deployments/{name}/predict</code> in this window. Try the deployment on the Try it tab, send
          requests to its endpoint, or choose a longer window.
        </EmptyState>
      ) : (
        <>
          <div data-testid="monitoring-totals">
            <Stats
              items={[
                { label: "Requests", value: <span data-testid="total-requests">{sum.requests}</span> },
                { label: "Errors", value: <span data-testid="total-errors">{sum.errors}</span> },
                { label: "Error rate", value: sum.errorRate === null ? "–" : `${(sum.errorRate * 100).toFixed(1)}%` },
                { label: "Rows scored", value: sum.rows },
                { label: "Labelled rows", value: <span data-testid="total-labelled">{sum.labelled}</span> },
              ]}
            />
          </div>
          <div className="monitoring-charts">
            {traffic ? <ChartView chart={traffic} height={240} /> : null}
            {latency ? <ChartView chart={latency} height={240} /> : null}
            {performance ? (
              <ChartView chart={performance} height={240} />
            ) : (
              <div className="monitoring-empty-chart" data-testid="performance-empty">
                <strong>Live performance</strong>
                <p className="muted small">
                  No labels yet for this window. Send the true outcomes by prediction id with{" "}
                  <code>caretflow deploy feedback {name} --labels outcomes.csv</code> or <code>POST /api/deployments/{name}/feedback</code>,
                  and the accuracy and AUC (or RMSE and MAE) of each bucket appear here.
                </p>
              </div>
            )}
          </div>
        </>
      )}
    </Card>
  );
}

function DriftChecks({ name, win }: { name: string; win: WindowKey }) {
  const api = useApi();
  const [fields, setFields] = useState<DriftThresholdFields>({
    psi: String(DEFAULT_DRIFT_THRESHOLDS.psi),
    ksPValue: String(DEFAULT_DRIFT_THRESHOLDS.ks_p_value),
    ksStatistic: String(DEFAULT_DRIFT_THRESHOLDS.ks_statistic),
  });
  const field = (k: keyof DriftThresholdFields) => ({
    value: fields[k],
    onChange: (e: ChangeEvent<HTMLInputElement>) => setFields((f) => ({ ...f, [k]: e.target.value })),
  });
  const history = useResource((a) => a.deploymentDriftHistory(name), `drift:${name}`);
  const [starting, setStarting] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const latest = history.data?.[0];
  const pending = latest !== undefined && driftPending(latest);
  useReloadWhile(pending, history.reload, 1500);
  const chart = history.data ? driftChart(history.data) : null;
  const lastDone = history.data ? finishedDriftRuns(history.data).at(-1) : undefined;

  const start = async () => {
    setStarting(true);
    setError(null);
    try {
      const { from, to } = windowQuery(win, new Date());
      const made = driftThresholdsFrom(fields);
      if ("error" in made) throw new Error(made.error);
      await api.startDeploymentDrift(name, { from, to, thresholds: made.thresholds });
      history.reload();
    } catch (err) {
      setError(err);
    } finally {
      setStarting(false);
    }
  };

  return (
    <Card
      title="Drift"
      actions={
        <button type="button" className="btn btn-small btn-primary" onClick={() => void start()} disabled={starting || pending}>
          {starting || pending ? <Spinner label="Checking for drift" /> : null} Check drift now
        </button>
      }
    >
      <div className="drift-controls">
        <p className="muted small">
          Compares the inputs and answers logged over the window chosen above ({windowLabel(win).toLowerCase()}) with the training data of
          the version served (PSI per feature, KS test for numbers).
        </p>
        <fieldset className="drift-thresholds">
          <legend className="sr-only">Drift thresholds</legend>
          <label className="drift-threshold">
            <span className="field-label">Drift at PSI ≥</span>
            <input name="psi" type="number" inputMode="decimal" min={0} step="0.05" {...field("psi")} />
          </label>
          <label className="drift-threshold" title="Numeric features: the KS test's p-value below this counts as drift…">
            <span className="field-label">or KS p-value &lt;</span>
            <input name="ks_p_value" type="number" inputMode="decimal" min={0} max={1} step="0.01" {...field("ksPValue")} />
          </label>
          <label className="drift-threshold" title="…when the largest gap between the two distributions is at least this">
            <span className="field-label">with a KS gap ≥</span>
            <input name="ks_statistic" type="number" inputMode="decimal" min={0} max={1} step="0.05" {...field("ksStatistic")} />
          </label>
        </fieldset>
      </div>
      {error ? <ErrorBox error={error} title="The drift check could not start" /> : null}
      {history.error ? <ErrorBox error={history.error} onRetry={history.reload} /> : null}
      {latest ? (
        <p className="drift-latest" data-testid="drift-latest" data-status={latest.status} role="status">
          <Badge
            tone={latest.status === "succeeded" ? (latest.drifted.length ? "bad" : "good") : latest.status === "failed" ? "bad" : "info"}
          >
            {latest.status}
          </Badge>{" "}
          {driftRunText(latest)} <span className="muted small">· started {formatDateTime(latest.at)}</span>
        </p>
      ) : null}
      {!history.data ? (
        history.error ? null : (
          <Skeleton lines={2} />
        )
      ) : history.data.length === 0 ? (
        <p className="muted">
          No drift check yet. Run one now, or have the server check on a schedule (the deployment's <code>driftEvery</code>).
        </p>
      ) : (
        <>
          {chart ? <ChartView chart={chart} height={240} /> : null}
          {lastDone ? <DriftFeatures run={lastDone} /> : null}
        </>
      )}
    </Card>
  );
}

function DriftFeatures({ run }: { run: DeploymentDriftRun }) {
  return (
    <>
      <h3 className="subhead">
        Per feature, check of {formatDateTime(run.window.from)} – {formatDateTime(run.window.to)}
      </h3>
      <DataTable<DriftFeature>
        rows={run.features}
        rowKey={(f) => `${f.role}:${f.column}`}
        initialSort={{ key: "psi", dir: "desc" }}
        rowClassName={(f) => (f.drifted ? "drift-row-drifted" : undefined)}
        caption="Drift per feature"
        testId="drift-features"
        columns={[
          { key: "column", header: "Column", sortValue: (f) => f.column, render: (f) => <code>{f.column}</code> },
          { key: "role", header: "Role", sortValue: (f) => f.role, render: (f) => f.role },
          {
            key: "psi",
            header: "PSI",
            align: "right",
            firstDir: "desc",
            sortValue: (f) => f.psi ?? -1,
            render: (f) => (f.psi === null ? <span className="muted">{f.note ?? "–"}</span> : f.psi.toFixed(3)),
          },
          {
            key: "ks",
            header: "KS p-value",
            align: "right",
            sortValue: (f) => f.ks_p_value ?? 2,
            render: (f) => (f.ks_p_value === null ? <span className="muted">–</span> : f.ks_p_value.toPrecision(3)),
          },
          {
            key: "drifted",
            header: "Drifted",
            sortValue: (f) => Number(f.drifted),
            render: (f) => (f.drifted ? <Badge tone="bad">drifted</Badge> : <Badge tone="good">stable</Badge>),
          },
        ]}
      />
    </>
  );
}

function DeploymentAlerts({ name }: { name: string }) {
  const rules = useResource(async (a) => (await a.listAlerts()).filter((r) => r.deployment === name), `alerts:${name}`);
  return (
    <Card
      title="Alert rules"
      actions={
        <Link className="btn btn-small" to="/alerts">
          Manage alerts
        </Link>
      }
    >
      {rules.error ? <ErrorBox error={rules.error} onRetry={rules.reload} /> : null}
      {!rules.data ? (
        rules.error ? null : (
          <Skeleton lines={2} />
        )
      ) : rules.data.length === 0 ? (
        <p className="muted">
          No alert rule watches {name} yet. <Link to="/alerts">Add one on the Alerts page</Link>: a metric, a threshold and a window.
        </p>
      ) : (
        <DataTable<AlertRule>
          rows={rules.data}
          rowKey={(r) => r.name}
          initialSort={{ key: "name", dir: "asc" }}
          caption={`Alert rules of ${name}`}
          testId="deployment-alerts"
          columns={[
            { key: "name", header: "Rule", sortValue: (r) => r.name, render: (r) => <strong>{r.name}</strong> },
            { key: "condition", header: "Fires when", render: (r) => <code>{conditionText(r)}</code> },
            {
              key: "state",
              header: "State",
              sortValue: (r) => r.state,
              render: (r) => <Badge tone={stateTone(r)}>{r.enabled ? r.state.replace("_", " ") : "disabled"}</Badge>,
            },
            {
              key: "value",
              header: "Last value",
              align: "right",
              render: (r) => (r.last_value === null ? <span className="muted">–</span> : r.last_value),
            },
            {
              key: "checked",
              header: "Checked",
              render: (r) => (r.last_checked_at ? formatDateTime(r.last_checked_at) : <span className="muted">not yet</span>),
            },
          ]}
        />
      )}
    </Card>
  );
}
