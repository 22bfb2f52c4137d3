import type { ReactNode } from "react";
import { Link, useParams, useSearchParams } from "react-router-dom";
import { useResource } from "../../api/context.tsx";
import { EmptyState, ErrorBox, Skeleton } from "../../ui/feedback.tsx";
import { Card, PageHeader } from "../../ui/layout.tsx";
import { ScrollRegion } from "../../ui/scroll.tsx";
import { CompareMetricsBody } from "../runs/CompareMetricsBody.tsx";
import { compareMetricRows } from "../runs/compare.helpers.ts";
import { paramRows, parseVersionList } from "./models.helpers.ts";
import "./registry.css";

/**
 * Versions of a registered model side by side (/models/NAME/compare?versions=1,2): the estimator, aliases,
 * training dataset version and run of each, their metrics with the best marked by the metric's direction,
 * and their parameters with the differing ones marked. The runs' plots open side by side on the runs'
 * compare page.
 */
export function ModelComparePage() {
  const name = useParams().name ?? "";
  const [params] = useSearchParams();
  const versions = parseVersionList(params.get("versions"));
  const catalog = useResource((api) => api.catalog(), "catalog");
  const data = useResource(
    (api) => (versions.length >= 2 ? api.compareModelVersions(name, versions) : Promise.resolve(null)),
    `model-compare:${name}:${versions.join(",")}`,
  );
  const header = (
    <PageHeader
      crumbs={<Link to="/models">Models</Link>}
      title={`Compare versions of ${name}`}
      subtitle={versions.length >= 2 ? `Versions ${versions.join(", ")} side by side` : undefined}
    />
  );
  if (versions.length < 2)
    return (
      <div className="page">
        {header}
        <EmptyState
          title="Pick at least two versions"
          action={
            <Link className="btn btn-primary" to="/models">
              Choose versions
            </Link>
          }
        >
          Tick versions in the model's table on the Models page, then choose Compare.
        </EmptyState>
      </div>
    );
  const error = data.error ?? catalog.error;
  if (error)
    return (
      <div className="page">
        {header}
        <ErrorBox error={error} title="Could not compare the versions" onRetry={data.reload} />
      </div>
    );
  if (!data.data || !catalog.data)
    return (
      <div className="page">
        {header}
        <Skeleton lines={8} />
      </div>
    );
  const compared = data.data.versions;
  const tasks = compared.map((v) => catalog.data?.tasks.find((t) => t.task === v.task));
  const metrics = compareMetricRows(compared, tasks);
  const parameters = paramRows(compared);
  const runIds = compared.flatMap((v) => (v.runId ? [v.runId] : []));
  const heads = (
    <tr>
      <th scope="col">Version</th>
      {compared.map((v) => (
        <th key={v.version} scope="col">
          v{v.version}
        </th>
      ))}
    </tr>
  );
  const infoRows: [string, (v: (typeof compared)[number]) => ReactNode][] = [
    ["Model", (v) => v.modelName ?? "—"],
    ["Aliases", (v) => (v.aliases.length > 0 ? v.aliases.map((a) => `@${a}`).join(", ") : "—")],
    ["Training data", (v) => v.dataset ?? "—"],
    ["Run", (v) => (v.runId ? <Link to={`/experiments/${v.runId}`}>plots and artifacts</Link> : "—")],
  ];
  return (
    <div className="page">
      {header}
      <Card
        title="Versions"
        actions={
          runIds.length >= 2 ? (
            <Link className="btn btn-small" to={`/experiments/compare?runs=${runIds.join(",")}`}>
              Plots side by side
            </Link>
          ) : null
        }
      >
        <SideBySide label="The compared versions" testId="compare-versions" heads={heads}>
          <tbody>
            {infoRows.map(([label, cell]) => (
              <tr key={label}>
                <th scope="row">{label}</th>
                {compared.map((v) => (
                  <td key={v.version}>{cell(v)}</td>
                ))}
              </tr>
            ))}
          </tbody>
        </SideBySide>
      </Card>
      <Card title="Metrics" actions={<span className="muted small">best per metric highlighted, by the metric's direction</span>}>
        {metrics.length === 0 ? (
          <p className="muted small">The versions' runs logged no metrics.</p>
        ) : (
          <SideBySide label="Metrics of the compared versions" testId="compare-metrics" heads={heads}>
            <CompareMetricsBody rows={metrics} />
          </SideBySide>
        )}
      </Card>
      <Card title="Parameters" actions={<span className="muted small">values that differ highlighted</span>}>
        {parameters.length === 0 ? (
          <p className="muted small">The versions' runs logged no parameters.</p>
        ) : (
          <SideBySide label="Parameters of the compared versions" testId="compare-params" heads={heads}>
            <tbody>
              {parameters.map((p) => (
                <tr key={p.param} data-differs={p.differs ? "true" : undefined}>
                  <th scope="row">{p.param}</th>
                  {p.values.map((v, i) => (
                    <td key={compared[i]?.version} className={p.differs ? "cell-differs" : ""}>
                      {v ?? "—"}
                    </td>
                  ))}
                </tr>
              ))}
            </tbody>
          </SideBySide>
        )}
      </Card>
    </div>
  );
}

/** A scrollable table of the compared versions: one column per version under `heads`. */
function SideBySide({ label, testId, heads, children }: { label: string; testId: string; heads: ReactNode; children: ReactNode }) {
  return (
    <ScrollRegion className="table-wrap" label={label}>
      <table className="table" data-testid={testId}>
        <caption className="sr-only">{label}</caption>
        <thead>{heads}</thead>
        {children}
      </table>
    </ScrollRegion>
  );
}
