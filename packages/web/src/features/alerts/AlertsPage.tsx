import type { AlertOperator, AlertRule } from "@caretflow/contracts";
import { type FormEvent, useState } from "react";
import { Link } from "react-router-dom";
import { useApi, useReloadWhile, useResource } from "../../api/context.tsx";
import { formatDateTime } from "../../lib/format.ts";
import { EmptyState, ErrorBox, Skeleton } from "../../ui/feedback.tsx";
import { Badge, Card, PageHeader } from "../../ui/layout.tsx";
import { DataTable } from "../../ui/table.tsx";
import { conditionText, parseParams, stateTone } from "./alerts.helpers.ts";
import "./alerts.css";

const OPERATORS: AlertOperator[] = [">", ">=", "<", "<="];

interface RuleForm {
  name: string;
  deployment: string;
  metric: string;
  op: AlertOperator;
  threshold: string;
  window: string;
  webhook: string;
  pipeline: string;
  params: string;
}

const EMPTY: RuleForm = {
  name: "",
  deployment: "",
  metric: "",
  op: ">",
  threshold: "",
  window: "60",
  webhook: "",
  pipeline: "",
  params: "",
};

/** Alert rules on deployments' metrics, their state and last value, what each firing did, and a form for a new rule. */
export function AlertsPage() {
  const api = useApi();
  const rules = useResource((a) => a.listAlerts(), "alerts");
  const events = useResource((a) => a.listAlertEvents(), "alert-events");
  const metrics = useResource((a) => a.listAlertMetrics(), "alert-metrics");
  const pipelines = useResource((a) => a.listPipelines(), "pipelines");
  const deployments = useResource((a) => a.listDeployments(), "deployments");
  const [form, setForm] = useState<RuleForm>(EMPTY);
  const [busy, setBusy] = useState<string | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [formError, setFormError] = useState<unknown>(null);
  const [historyOf, setHistoryOf] = useState("");
  const metric = form.metric || metrics.data?.[0]?.name || "";
  const metricInfo = metrics.data?.find((m) => m.name === metric);
  const deployment = form.deployment || deployments.data?.[0]?.name || "";
  const shownEvents = events.data?.filter((e) => !historyOf || e.rule === historyOf);
  const set = (patch: Partial<RuleForm>) => setForm((f) => ({ ...f, ...patch }));
  const reload = () => {
    rules.reload();
    events.reload();
  };
  // Rules are checked on the server every minute: their state and events change on their own.
  useReloadWhile(rules.data !== undefined, rules.reload, 30_000);
  useReloadWhile(events.data !== undefined, events.reload, 30_000);

  const act = async (what: string, fn: () => Promise<unknown>) => {
    setBusy(what);
    setError(null);
    try {
      await fn();
      reload();
    } catch (err) {
      setError(err);
    } finally {
      setBusy(null);
    }
  };

  const create = async (e: FormEvent) => {
    e.preventDefault();
    setFormError(null);
    const params = parseParams(form.params);
    if ("error" in params) {
      setFormError(new Error(`Pipeline params: ${params.error}`));
      return;
    }
    setBusy("create");
    try {
      await api.createAlert({
        name: form.name.trim(),
        deployment,
        metric,
        op: form.op,
        threshold: Number(form.threshold),
        window_minutes: Number(form.window),
        enabled: true,
        ...(form.webhook.trim() ? { webhook_url: form.webhook.trim() } : {}),
        ...(form.pipeline ? { pipeline: { name: form.pipeline, params: params.params } } : {}),
      });
      setForm(EMPTY);
      reload();
    } catch (err) {
      setFormError(err);
    } finally {
      setBusy(null);
    }
  };

  return (
    <div className="page">
      <PageHeader
        title="Alerts"
        subtitle="Rules on a deployment's metrics over a time window: when one crosses its threshold, a webhook hears of it and a pipeline can start."
      />
      {error ? <ErrorBox error={error} /> : null}
      {rules.error ? <ErrorBox error={rules.error} onRetry={rules.reload} /> : null}
      <Card title="Rules">
        {!rules.data ? (
          rules.error ? null : (
            <Skeleton lines={3} />
          )
        ) : rules.data.length === 0 ? (
          <EmptyState title="No alert rules yet">Add one below: a deployment, a metric and when it should fire.</EmptyState>
        ) : (
          <DataTable
            rows={rules.data}
            rowKey={(r) => r.name}
            initialSort={{ key: "name", dir: "asc" }}
            testId="alerts-table"
            caption="Alert rules"
            columns={[
              { key: "name", header: "Rule", sortValue: (r) => r.name, render: (r) => <strong>{r.name}</strong> },
              { key: "deployment", header: "Deployment", sortValue: (r) => r.deployment, render: (r) => r.deployment },
              { key: "condition", header: "Fires when", className: "alerts-wrap", render: (r) => <code>{conditionText(r)}</code> },
              {
                key: "state",
                header: "State",
                sortValue: (r) => r.state,
                render: (r) => (
                  <>
                    <Badge tone={stateTone(r)}>{r.enabled ? r.state.replace("_", " ") : "disabled"}</Badge>
                    {r.last_error ? <div className="muted small">{r.last_error}</div> : null}
                  </>
                ),
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
                className: "alerts-wrap",
                sortValue: (r) => r.last_checked_at ?? "",
                render: (r) => (r.last_checked_at ? formatDateTime(r.last_checked_at) : <span className="muted">not yet</span>),
              },
              { key: "actions", header: "Then", className: "alerts-wrap", render: (r) => <RuleActions rule={r} /> },
              {
                key: "buttons",
                header: "",
                render: (r) => (
                  <div className="row-actions alerts-row-actions">
                    <button type="button" className="btn btn-small" onClick={() => setHistoryOf(r.name)} aria-label={`Events of ${r.name}`}>
                      Events
                    </button>
                    <button
                      type="button"
                      className="btn btn-small"
                      disabled={busy !== null}
                      onClick={() => void act(`check ${r.name}`, () => api.checkAlert(r.name))}
                    >
                      Check now
                    </button>
                    <button
                      type="button"
                      className="btn btn-small"
                      disabled={busy !== null}
                      onClick={() => void act(`toggle ${r.name}`, () => api.updateAlert(r.name, { enabled: !r.enabled }))}
                    >
                      {r.enabled ? "Disable" : "Enable"}
                    </button>
                    <button
                      type="button"
                      className="btn btn-small btn-danger"
                      disabled={busy !== null}
                      onClick={() => {
                        if (window.confirm(`Delete the alert rule ${r.name}? Its events are kept.`))
                          void act(`delete ${r.name}`, () => api.deleteAlert(r.name));
                      }}
                    >
                      Delete
                    </button>
                  </div>
                ),
              },
            ]}
          />
        )}
      </Card>

      <Card title="New rule">
        <form onSubmit={(e) => void create(e)} aria-label="New alert rule">
          <div className="form-row">
            <label className="field">
              <span className="field-label">Name</span>
              <input name="name" value={form.name} onChange={(e) => set({ name: e.target.value })} required placeholder="churn-slow" />
            </label>
            <label className="field">
              <span className="field-label">Deployment</span>
              <input
                name="deployment"
                list="alert-deployments"
                value={deployment}
                onChange={(e) => set({ deployment: e.target.value })}
                required
                placeholder="churn"
              />
              <datalist id="alert-deployments">
                {(deployments.data ?? []).map((d) => (
                  <option key={d.name} value={d.name} />
                ))}
              </datalist>
            </label>
            <label className="field">
              <span className="field-label">Metric</span>
              <select name="metric" value={metric} onChange={(e) => set({ metric: e.target.value })}>
                {(metrics.data ?? []).map((m) => (
                  <option key={m.name} value={m.name}>
                    {m.name} ({m.unit})
                  </option>
                ))}
              </select>
            </label>
          </div>
          {metricInfo ? (
            <p className="muted small" data-testid="metric-description">
              {metric}: {metricInfo.description} ({metricInfo.unit})
            </p>
          ) : null}
          {deployments.data && deployments.data.length === 0 ? (
            <p className="muted small">
              No deployment in this project yet: a rule watches a deployment, so <Link to="/deployments">create one</Link> first.
            </p>
          ) : null}
          <div className="form-row form-row-4">
            <label className="field">
              <span className="field-label">Fires when the metric is</span>
              <select name="op" value={form.op} onChange={(e) => set({ op: e.target.value as AlertOperator })}>
                {OPERATORS.map((o) => (
                  <option key={o} value={o}>
                    {o}
                  </option>
                ))}
              </select>
            </label>
            <label className="field">
              <span className="field-label">Threshold</span>
              <input
                name="threshold"
                type="number"
                step="any"
                value={form.threshold}
                onChange={(e) => set({ threshold: e.target.value })}
                required
              />
            </label>
            <label className="field">
              <span className="field-label">Window (minutes)</span>
              <input name="window" type="number" min={1} value={form.window} onChange={(e) => set({ window: e.target.value })} required />
            </label>
          </div>
          <div className="form-row">
            <label className="field">
              <span className="field-label">Webhook URL (optional; stored encrypted)</span>
              <input
                name="webhook"
                type="url"
                value={form.webhook}
                onChange={(e) => set({ webhook: e.target.value })}
                placeholder="https://hooks.example.com/..."
                autoComplete="off"
              />
            </label>
            <label className="field">
              <span className="field-label">Start a pipeline (optional)</span>
              <select name="pipeline" value={form.pipeline} onChange={(e) => set({ pipeline: e.target.value })}>
                <option value="">none</option>
                {(pipelines.data ?? []).map((p) => (
                  <option key={p.name} value={p.name}>
                    {p.name}
                  </option>
                ))}
              </select>
            </label>
            {form.pipeline ? (
              <label className="field">
                <span className="field-label">Its params (NAME=VALUE, comma-separated)</span>
                <input name="params" value={form.params} onChange={(e) => set({ params: e.target.value })} placeholder="reason=alert" />
              </label>
            ) : null}
          </div>
          {formError ? <ErrorBox error={formError} title="The rule was not added" /> : null}
          <div className="form-actions">
            <button type="submit" className="btn btn-primary" disabled={busy !== null || !metrics.data?.length || !deployment}>
              Add rule
            </button>
          </div>
        </form>
      </Card>

      <Card
        title="Events"
        actions={
          <label className="alerts-filter">
            <span className="field-label">Rule</span>
            <select name="history" value={historyOf} onChange={(e) => setHistoryOf(e.target.value)}>
              <option value="">every rule</option>
              {(rules.data ?? []).map((r) => (
                <option key={r.name} value={r.name}>
                  {r.name}
                </option>
              ))}
            </select>
          </label>
        }
      >
        {events.error ? <ErrorBox error={events.error} onRetry={events.reload} /> : null}
        {!shownEvents ? (
          events.error ? null : (
            <Skeleton lines={2} />
          )
        ) : shownEvents.length === 0 ? (
          <p className="muted">{historyOf ? `${historyOf} has not fired yet.` : "No rule has fired yet."}</p>
        ) : (
          <DataTable
            rows={shownEvents}
            rowKey={(e) => e.id}
            initialSort={{ key: "at", dir: "desc" }}
            testId="alert-events-table"
            caption="Alert events"
            columns={[
              { key: "at", header: "At", sortValue: (e) => e.at, render: (e) => formatDateTime(e.at) },
              { key: "rule", header: "Rule", sortValue: (e) => e.rule, render: (e) => e.rule },
              {
                key: "kind",
                header: "Event",
                render: (e) => <Badge tone={e.kind === "fired" ? "bad" : "good"}>{e.kind}</Badge>,
              },
              { key: "message", header: "What", render: (e) => e.message },
              {
                key: "did",
                header: "Actions",
                render: (e) =>
                  [
                    e.webhook ? `webhook ${e.webhook}` : "",
                    e.pipeline_run ? `pipeline run ${e.pipeline_run.slice(0, 8)}` : "",
                    e.pipeline_error ?? "",
                  ]
                    .filter(Boolean)
                    .join("; ") || <span className="muted">–</span>,
              },
            ]}
          />
        )}
      </Card>
    </div>
  );
}

function RuleActions({ rule }: { rule: AlertRule }) {
  const parts = [
    rule.webhook_origin ? `webhook ${rule.webhook_origin}` : null,
    rule.pipeline ? `pipeline ${rule.pipeline.name}` : null,
  ].filter((p): p is string => p !== null);
  return parts.length ? <span className="small">{parts.join(", ")}</span> : <span className="muted">record only</span>;
}
