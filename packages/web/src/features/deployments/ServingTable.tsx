import type { Deployment, ServingVersion } from "@caretflow/contracts";
import { Badge } from "../../ui/layout.tsx";
import { DataTable } from "../../ui/table.tsx";
import { healthTone } from "./deployments.helpers.ts";

const share = (s: ServingVersion) => (s.role === "shadow" ? "shadow" : `${s.weight}%`);

/** The versions a deployment serves now, one line each: "v1 70% ready". */
export function ServingList({ deployment }: { deployment: Deployment }) {
  if (deployment.serving.length === 0) return <span className="muted">none loaded</span>;
  return (
    <ul className="serving-list" aria-label={`Versions ${deployment.name} serves`}>
      {deployment.serving.map((s) => (
        <li key={`${s.role}-${s.version}`}>
          <strong>v{s.version}</strong> <span className="mono">{share(s)}</span> <Badge tone={healthTone(s.health)}>{s.health}</Badge>
        </li>
      ))}
    </ul>
  );
}

/** The versions a deployment serves now with their role, share, process and restarts. */
export function ServingTable({ deployment }: { deployment: Deployment }) {
  return (
    <DataTable<ServingVersion>
      rows={deployment.serving}
      rowKey={(s) => `${s.role}-${s.version}`}
      caption={`Versions ${deployment.name} serves`}
      testId="serving-table"
      empty={<span className="muted">No version is loaded{deployment.problem ? `: ${deployment.problem}` : "."}</span>}
      columns={[
        { key: "version", header: "Version", render: (s) => <strong>v{s.version}</strong> },
        { key: "role", header: "Role", render: (s) => s.role },
        { key: "weight", header: "Share of requests", align: "right", render: (s) => share(s) },
        { key: "health", header: "Health", render: (s) => <Badge tone={healthTone(s.health)}>{s.health}</Badge> },
        { key: "pid", header: "Process", align: "right", render: (s) => (s.pid === null ? <span className="muted">–</span> : s.pid) },
        { key: "restarts", header: "Restarts", align: "right", render: (s) => s.restarts },
      ]}
    />
  );
}
