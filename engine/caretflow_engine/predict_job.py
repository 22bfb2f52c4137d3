"""kind=predict: score a Parquet file with a verified model; output = input columns + predictions."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from .context import JobContext
from .data import read_parquet
from .errors import user_error
from .scoring import load_model, prediction_columns, score_frame
from .tracking import make_client, preflight


def run_predict(spec: dict[str, Any], ctx: JobContext) -> dict[str, Any]:
    ev = ctx.events
    out_path = Path(spec["output_path"])
    if not out_path.is_absolute() or ".." in out_path.parts:
        raise user_error("InvalidPath", f"output_path must be an absolute path: {spec['output_path']}", "Pass an absolute path.")
    if not out_path.parent.is_dir():
        raise user_error(
            "InvalidPath", f"The output folder does not exist: {out_path.parent}", "Create the folder or pick another output path."
        )

    ev.stage("loading", f"Loading model {spec['model_uri']}")
    preflight(spec["tracking_uri"])
    client = make_client(spec["tracking_uri"])
    model = load_model(client, spec["model_uri"], spec.get("model_sha256"))
    ev.log("info", f"Model verified (sha256 {model.sha256[:12]}…), task {model.task}")
    df = read_parquet(spec["input_path"], what="input")

    ev.stage("scoring", f"Scoring {len(df)} rows")
    predictions = score_frame(model, df)
    clashes = [c for c in predictions.columns if c in df.columns]
    if clashes:
        ev.warning(f"Input columns {', '.join(clashes)} are replaced by the model's predictions.")
    output = df.drop(columns=clashes).join(predictions)

    ev.stage("writing", f"Writing {len(output)} rows")
    tmp = out_path.with_name(f".{out_path.name}.{os.getpid()}.tmp")
    output.to_parquet(tmp, engine="pyarrow", index=False)
    os.replace(tmp, out_path)  # readers never see a half-written file
    return {
        "kind": "predict",
        "rows": int(len(output)),
        "output_path": str(out_path),
        "prediction_columns": prediction_columns(model),
    }
