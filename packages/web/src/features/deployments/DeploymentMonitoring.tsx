import type { AlertRule, Deployment } from "@caretflow/contracts";
import { Link } from "react-router-dom";
import { useResource } from "../../api/context.tsx";
import { formatDateTime } from "../../lib/format.ts";
import { ErrorBox, Skeleton } from "../../ui/feedback.tsx";
import { Badge, Card } from "../../ui/layout.tsx";
import { DataTable } from "../../ui/table.tsx";
import { conditionText, stateTone } from "../alerts/alerts.helpers.ts";

/**
 * The deployment's monitoring: charts of its metrics over time belong at the top of this tab; below them,
 * the alert rules that watch it, with a way to the Alerts page to add or change one.
 */
export function DeploymentMonitoring({ deployment }: { deployment: Deployment }) {
  return (
    <div className="stack" data-testid="deployment-monitoring">
      <DeploymentAlerts name={deployment.name} />
    </div>
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
