import type { Explanation } from "@caretflow/contracts";
import { formatNumber } from "../../lib/format.ts";
import "./explain.css";
import { explanationBars } from "./models.helpers.ts";

/** Why one row got its prediction: the base value, then each feature's push up or down, largest first. */
export function ExplanationView({ row, explanation }: { row: number; explanation: Explanation }) {
  const { bars, total } = explanationBars(explanation);
  return (
    <figure className="explain" data-testid="explanation">
      <figcaption>
        <strong>Row {row}</strong>: {explanation.target} = {formatNumber(total)}{" "}
        <span className="muted small">(base value {formatNumber(explanation.base)} plus the contributions below)</span>
      </figcaption>
      <ul className="explain-bars" aria-label={`Contributions to row ${row}'s prediction, largest first`}>
        {bars.map((b) => (
          <li key={b.label} className="explain-row">
            <span className="explain-label">{b.label}</span>
            <span className="explain-track" aria-hidden="true">
              <span
                className={`explain-bar ${b.shap >= 0 ? "explain-up" : "explain-down"}`}
                style={{ width: `${Math.max(1, b.size * 50)}%` }}
              />
            </span>
            <span className={`explain-value ${b.shap >= 0 ? "explain-value-up" : "explain-value-down"}`}>
              {b.shap >= 0 ? "+" : "−"}
              {formatNumber(Math.abs(b.shap))}
            </span>
          </li>
        ))}
      </ul>
    </figure>
  );
}
