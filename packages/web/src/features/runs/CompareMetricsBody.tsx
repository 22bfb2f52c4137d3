import { formatMetric } from "../../lib/format.ts";
import type { CompareMetricRow } from "./compare.helpers.ts";

/** The rows of a metrics comparison: one per metric with its direction, one cell per compared column, the best marked. */
export function CompareMetricsBody({ rows }: { rows: readonly CompareMetricRow[] }) {
  return (
    <tbody>
      {rows.map((m) => (
        <tr key={m.metric}>
          <th scope="row">
            {m.metric}{" "}
            {m.lowerIsBetter === null ? null : <span className="muted small">({m.lowerIsBetter ? "lower" : "higher"} is better)</span>}
          </th>
          {m.values.map((v, i) => (
            // biome-ignore lint/suspicious/noArrayIndexKey: one cell per compared column, in order
            <td key={i} className={`num ${i === m.best ? "cell-best" : ""}`}>
              {formatMetric(v)}
              {i === m.best ? <span className="best-tag">best</span> : null}
            </td>
          ))}
        </tr>
      ))}
    </tbody>
  );
}
