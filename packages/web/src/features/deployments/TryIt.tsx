import type { Deployment, DeploymentPredictResponse, RegisteredModel } from "@caretflow/contracts";
import { type FormEvent, useId, useState } from "react";
import { useApi, useResource } from "../../api/context.tsx";
import { formatNumber } from "../../lib/format.ts";
import { ErrorBox, Skeleton, Spinner } from "../../ui/feedback.tsx";
import { Card } from "../../ui/layout.tsx";
import { parseRowsJson } from "../models/models.helpers.ts";
import { modelExample } from "../models/OnlinePredict.tsx";
import { PredictionTable } from "../models/PredictionTable.tsx";
import { exampleRef } from "./deployments.helpers.ts";

/** Sends rows to the deployment's endpoint, as a client would, and shows the answer with the version that gave it. */
export function TryIt({ deployment: d, model }: { deployment: Deployment; model: RegisteredModel }) {
  const api = useApi();
  const ref = exampleRef(d);
  // A row of the model's training data without the target, or an empty row where that is unknown.
  const example = useResource(
    (a) => modelExample(a, [model], ref, 1).catch(() => ({ task: null, text: "[\n  {}\n]" })),
    `deployment-example:${ref}`,
  );
  const [text, setText] = useState<string | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);
  const [result, setResult] = useState<{ rows: Record<string, unknown>[]; res: DeploymentPredictResponse } | null>(null);
  const value = text ?? example.data?.text ?? "";
  const helpId = useId();

  async function submit(e: FormEvent) {
    e.preventDefault();
    const parsed = parseRowsJson(value);
    if (!parsed.ok) return setError(new Error(parsed.error));
    setBusy(true);
    setError(null);
    try {
      setResult({ rows: parsed.rows, res: await api.predictDeployment(d.name, parsed.rows) });
    } catch (err) {
      setResult(null);
      setError(err);
    } finally {
      setBusy(false);
    }
  }

  return (
    <Card title="Try it">
      <form onSubmit={submit} aria-label="Try the deployment">
        <p className="muted small" id={helpId}>
          A JSON list of rows (column name → value), sent to <code>POST /api/deployments/{d.name}/predict</code>. Prefilled with a row of
          the training data, without the target.
        </p>
        {example.loading && text === null ? (
          <Skeleton lines={6} />
        ) : (
          <textarea
            className="json-input"
            name="rows"
            aria-label="Rows to send, as JSON"
            aria-describedby={helpId}
            rows={12}
            spellCheck={false}
            value={value}
            onChange={(e) => setText(e.target.value)}
          />
        )}
        <div className="button-row">
          <button type="submit" className="btn btn-primary" disabled={busy}>
            {busy ? <Spinner label="Sending" /> : null} Send
          </button>
          {text !== null && example.data ? (
            <button type="button" className="btn" onClick={() => setText(null)}>
              Reset to the example
            </button>
          ) : null}
        </div>
      </form>
      {error ? <ErrorBox error={error} title="The deployment did not answer" /> : null}
      {result ? (
        <p className="try-answer" data-testid="try-answer" role="status">
          Answered by <strong>version {result.res.version}</strong> of {result.res.model} in {formatNumber(result.res.elapsedMs, 0)} ms ·
          prediction id <code data-testid="prediction-id">{result.res.predictionId}</code>
        </p>
      ) : null}
      {result ? <PredictionTable inputs={result.rows} answer={result.res} testId="try-result" /> : null}
    </Card>
  );
}
