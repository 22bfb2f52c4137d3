import type { OnlinePredictResponse } from "@caretflow/contracts";
import { useMemo } from "react";
import { formatCell } from "../../lib/format.ts";
import { ScrollRegion } from "../../ui/scroll.tsx";
import { predictionTable } from "./models.helpers.ts";

/** Scored rows as one table: the prediction columns first (highlighted), then the rows sent. */
export function PredictionTable({
  inputs,
  answer,
  testId,
}: {
  inputs: readonly Record<string, unknown>[];
  answer: Pick<OnlinePredictResponse, "columns" | "predictions">;
  testId: string;
}) {
  const table = useMemo(() => predictionTable(inputs, answer), [inputs, answer]);
  const predCols = new Set(answer.columns);
  return (
    <ScrollRegion className="table-wrap" label="Predictions">
      <table className="table table-compact" data-testid={testId}>
        <caption className="sr-only">Predictions</caption>
        <thead>
          <tr>
            {table.columns.map((c) => (
              <th key={c} className={predCols.has(c) ? "col-pred" : ""}>
                {c}
              </th>
            ))}
          </tr>
        </thead>
        <tbody>
          {table.rows.map((r, i) => (
            // biome-ignore lint/suspicious/noArrayIndexKey: rows have no identity beyond their order
            <tr key={i}>
              {table.columns.map((c) => (
                <td key={c} className={predCols.has(c) ? "col-pred" : ""}>
                  {formatCell(r[c])}
                </td>
              ))}
            </tr>
          ))}
        </tbody>
      </table>
    </ScrollRegion>
  );
}
