import type { DatasetProfile } from "@caretflow/contracts";
import { useMemo } from "react";
import { formatNumber, formatPercent } from "../../lib/format.ts";
import { ScrollRegion } from "../../ui/scroll.tsx";
import { ChartView } from "../charts/ChartView.tsx";
import "./quality.css";
import { correlationChart, missingPatternRows, nullsChart } from "./profile.helpers.ts";

/** The whole-table charts of a profile: correlations between numeric columns and the missing-value pattern. */
export function ProfileCharts({ profile }: { profile: DatasetProfile }) {
  const correlations = useMemo(() => correlationChart(profile), [profile]);
  const nulls = useMemo(() => nullsChart(profile), [profile]);
  return (
    <div className="profile-overview">
      <section
        // A wide matrix gets the whole row, so it reads without scrolling.
        className={`card${(correlations?.x.categories.length ?? 0) > 6 ? " profile-wide" : ""}`}
        data-testid="profile-correlations"
        aria-labelledby="profile-corr-title"
      >
        <h2 id="profile-corr-title" className="card-title">
          Correlations
        </h2>
        {correlations ? <ChartView chart={correlations} /> : <p className="muted small">Correlations need at least two numeric columns.</p>}
      </section>
      <section className="card" data-testid="profile-missing" aria-labelledby="profile-missing-title">
        <h2 id="profile-missing-title" className="card-title">
          Missing values
        </h2>
        {nulls ? (
          <>
            <ChartView chart={nulls} height={220} />
            <MissingPatterns profile={profile} />
          </>
        ) : (
          <p className="muted small">No column has missing values.</p>
        )}
      </section>
    </div>
  );
}

/** Which columns are missing together: one row per pattern, a mark per column, most frequent first. */
function MissingPatterns({ profile }: { profile: DatasetProfile }) {
  const rows = missingPatternRows(profile);
  const columns = profile.missing?.columns ?? [];
  const other = profile.missing?.otherRows ?? 0;
  return (
    <ScrollRegion className="pattern-wrap" label="Missing-value patterns">
      <table className="pattern-table" data-testid="missing-patterns">
        <caption>Rows by which columns are missing together (■ missing, · present)</caption>
        <thead>
          <tr>
            {columns.map((c) => (
              <th key={c} scope="col">
                {c}
              </th>
            ))}
            <th scope="col">Rows</th>
            <th scope="col">Share</th>
          </tr>
        </thead>
        <tbody>
          {rows.map((r) => (
            <tr key={r.key}>
              {r.marks.map((missing, i) => (
                <td
                  key={columns[i]}
                  className={missing ? "pattern-missing" : "pattern-present"}
                  aria-label={`${columns[i]} ${missing ? "missing" : "present"}`}
                >
                  {missing ? "■" : "·"}
                </td>
              ))}
              <td className="num">{formatNumber(r.count)}</td>
              <td className="num">{formatPercent(r.share)}</td>
            </tr>
          ))}
          {other > 0 ? (
            <tr>
              <td colSpan={columns.length} className="muted">
                other patterns
              </td>
              <td className="num">{formatNumber(other)}</td>
              <td className="num">{formatPercent(other / Math.max(1, profile.rowCount))}</td>
            </tr>
          ) : null}
        </tbody>
      </table>
    </ScrollRegion>
  );
}
