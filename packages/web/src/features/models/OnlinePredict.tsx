import type { OnlinePredictResponse, RegisteredModel, RunDetail } from "@caretflow/contracts";
import { ModelRef } from "@caretflow/contracts";
import { type FormEvent, useId, useState } from "react";
import type { ApiClient } from "../../api/client.ts";
import { useApi, useResource } from "../../api/context.tsx";
import { horizonField } from "../../lib/catalog.ts";
import { formatNumber } from "../../lib/format.ts";
import { ErrorBox, Skeleton, Spinner } from "../../ui/feedback.tsx";
import { Card } from "../../ui/layout.tsx";
import { parseDatasetRef } from "../runs/runs.helpers.ts";
import { ExplanationView } from "./ExplanationView.tsx";
import { parseRowsJson, resolveModelRef, rowsForPrediction } from "./models.helpers.ts";
import { PredictionTable } from "./PredictionTable.tsx";

/** The training run behind a model reference: the version's run, or its parent when the run itself says too little. */
export async function modelRun(api: ApiClient, models: RegisteredModel[], ref: string): Promise<RunDetail | null> {
  const version = resolveModelRef(models, ref);
  if (!version?.runId) return null;
  const run = await api.getRun(version.runId);
  return (!run.dataset || !run.task) && run.parentRunId ? api.getRun(run.parentRunId) : run;
}

/**
 * The model's task (from its run) and example input: a few rows of its training data without the target,
 * or none for a model that needs no rows (a forecaster takes a horizon instead).
 */
export async function modelExample(
  api: ApiClient,
  models: RegisteredModel[],
  ref: string,
  rows = 3,
): Promise<{ task: string | null; text: string }> {
  const run = await modelRun(api, models, ref);
  if (!run) return { task: null, text: "[\n  {}\n]" };
  const catalog = await api.catalog();
  const task = catalog.tasks.find((t) => t.task === run.task);
  if (horizonField(task)) return { task: run.task, text: "[]" };
  const ds = parseDatasetRef(run.dataset);
  if (!ds) return { task: run.task, text: "[\n  {}\n]" };
  const detail = ds.version ? null : await api.getDataset(ds.name);
  const page = await api.preview(ds.name, ds.version ?? detail?.latestVersion ?? 1, 0, rows);
  return { task: run.task, text: JSON.stringify(rowsForPrediction(page, run.target, rows), null, 2) };
}

export function OnlinePredict({ modelRef, models }: { modelRef: string; models: RegisteredModel[] }) {
  const api = useApi();
  const example = useResource((a) => modelExample(a, models, modelRef), `example:${modelRef}`);
  const catalog = useResource((a) => a.catalog(), "catalog");
  const task = catalog.data?.tasks.find((t) => t.task === example.data?.task);
  const horizonSpec = horizonField(task);
  const [text, setText] = useState<string | null>(null);
  const [horizon, setHorizon] = useState<string | null>(null);
  const [explain, setExplain] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);
  const [result, setResult] = useState<{ rows: Record<string, unknown>[]; res: OnlinePredictResponse } | null>(null);
  const value = text ?? example.data?.text ?? "";
  const horizonValue = horizon ?? (horizonSpec?.default === undefined ? "" : String(horizonSpec.default));
  const helpId = useId();

  async function submit(e: FormEvent) {
    e.preventDefault();
    const parsed = parseRowsJson(value, { allowEmpty: horizonSpec !== undefined });
    if (!parsed.ok) return setError(new Error(parsed.error));
    const ref = ModelRef.safeParse(modelRef);
    if (!ref.success) return setError(new Error("Choose a model alias or version."));
    const h = Number(horizonValue);
    if (horizonSpec && (!Number.isInteger(h) || h < 1)) return setError(new Error("The horizon is a whole number of periods, 1 or more."));
    setBusy(true);
    setError(null);
    try {
      const res = await api.predict({
        model: ref.data,
        rows: parsed.rows,
        ...(horizonSpec ? { horizon: h } : {}),
        ...(explain ? { explain: true } : {}),
      });
      setResult({ rows: parsed.rows, res });
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  }

  return (
    <Card title={horizonSpec ? "Periods to forecast" : "Rows to score"}>
      <form onSubmit={submit} data-testid="online-form">
        {horizonSpec ? (
          <div className="form-row">
            <label className="field">
              <span className="field-label">Horizon (periods ahead)</span>
              <input name="horizon" inputMode="numeric" value={horizonValue} onChange={(e) => setHorizon(e.target.value)} />
            </label>
          </div>
        ) : null}
        <p className="muted small" id={helpId}>
          {horizonSpec
            ? "Optional: future values of the exogenous columns, as a JSON list with one row per period; leave [] for a model without them."
            : "A JSON list of rows (column name → value). Prefilled with rows of the training data, without the target."}
        </p>
        {example.loading && text === null ? (
          <Skeleton lines={6} />
        ) : (
          <textarea
            className="json-input"
            name="rows"
            aria-label={horizonSpec ? "Future rows, as JSON" : "Rows to score, as JSON"}
            aria-describedby={helpId}
            rows={horizonSpec ? 4 : 12}
            spellCheck={false}
            value={value}
            onChange={(e) => setText(e.target.value)}
          />
        )}
        <div className="button-row">
          {horizonSpec ? null : (
            <label className="check">
              <input
                type="checkbox"
                name="explain"
                checked={explain}
                onChange={(e) => setExplain(e.target.checked)}
                data-testid="explain"
              />
              Explain each prediction (SHAP)
            </label>
          )}
          <button type="submit" className="btn btn-primary" disabled={busy} data-testid="online-predict">
            {busy ? <Spinner label="Predicting" /> : null} Predict
          </button>
          {result ? (
            <span className="muted small">
              {result.res.model.name} v{result.res.model.version} answered in {formatNumber(result.res.elapsedMs, 0)} ms
            </span>
          ) : null}
        </div>
      </form>
      {error ? <ErrorBox error={error} title="Prediction failed" /> : null}
      {result ? <PredictionTable inputs={result.rows} answer={result.res} testId="online-result" /> : null}
      {result?.res.explanations ? (
        <div className="stack" data-testid="explanations">
          {result.res.explanations.map((x, i) => (
            // biome-ignore lint/suspicious/noArrayIndexKey: one explanation per row, in order
            <ExplanationView key={i} row={i + 1} explanation={x} />
          ))}
        </div>
      ) : null}
    </Card>
  );
}
