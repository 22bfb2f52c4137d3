"""kind=predict: score a dataset version with a verified model; the output (input columns plus the
task's prediction columns) goes to the job's outbox for caretflow to store as a dataset version."""

from __future__ import annotations

from typing import Any

from .context import JobContext
from .data import read_dataset
from .datastore import write_output
from .scoring import load_model, prediction_columns, score_frame
from .tracking import dataset_label, make_client, preflight


def run_predict(spec: dict[str, Any], ctx: JobContext) -> dict[str, Any]:
    ev = ctx.events
    ev.stage("loading", f"Loading model {spec['model_uri']}")
    preflight(spec["tracking_uri"])
    client = make_client(spec["tracking_uri"])
    model = load_model(client, spec["model_uri"], spec.get("model_sha256"))
    ev.log("info", f"Model verified (folder digest {model.sha256[:12]}…), task {model.task}")
    df = read_dataset(spec["input"])

    ev.stage("scoring", f"Scoring {dataset_label(spec['input'])} ({len(df)} rows)")
    options = {"horizon": spec["horizon"]} if spec.get("horizon") else {}
    predictions = score_frame(model, df, options)
    if predictions.index.equals(df.index):
        clashes = [c for c in predictions.columns if c in df.columns]
        if clashes:
            ev.warning(f"Input columns {', '.join(clashes)} are replaced by the model's predictions.")
        output = df.drop(columns=clashes).join(predictions)
    else:  # a forecast: one row per future period, not per input row
        output = predictions.reset_index(drop=True)

    ev.stage("writing", f"Writing {len(output)} rows")
    written = write_output(spec["job_id"], "predictions", output, list(predictions.columns))
    return {"kind": "predict", "rows": int(len(output)), "output": written, "prediction_columns": prediction_columns(model)}
