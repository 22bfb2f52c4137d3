import type { Job } from "@caretflow/contracts";
import { Link } from "react-router-dom";
import { useApi } from "../../api/context.tsx";
import { formatNumber } from "../../lib/format.ts";
import { Skeleton } from "../../ui/feedback.tsx";
import { Card } from "../../ui/layout.tsx";

/** A finished batch prediction: where its rows went, with the CSV one click away. */
export function PredictPanel({ job, status }: { job: Job; status: string }) {
  const api = useApi();
  const out = job.outputDataset ?? job.outputDatasets[0] ?? null;
  const result = job.result?.kind === "predict" ? job.result : null;
  if (status !== "succeeded") return null;
  if (!out) return <Skeleton lines={2} />;
  const link = `/data/${encodeURIComponent(out.name)}?v=${out.version}`;
  return (
    <Card title="Predictions" className="result-card">
      <p data-testid="predict-output">
        Wrote {result ? formatNumber(result.rows) : ""} rows to{" "}
        <Link to={link} className="strong-link">
          {out.name} v{out.version}
        </Link>
        {result ? (
          <>
            {" "}
            with columns <code>{result.prediction_columns.join(", ")}</code>
          </>
        ) : null}
        .
      </p>
      <div className="button-row">
        <a className="btn btn-primary" href={api.downloadUrl(out.name, out.version)} download={`${out.name}-v${out.version}.csv`}>
          Download CSV
        </a>
        <Link className="btn" to={link}>
          Open dataset
        </Link>
      </div>
    </Card>
  );
}
