"""kind=train: PyCaret setup, compare_models (streamed), finalize_model, logged to MLflow."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

from .context import JobContext
from .data import check_training_data, read_parquet
from .model_store import MODEL_ARTIFACT_PATH, SHA_TAG, SOURCE_TAG
from .tracking import (
    dataset_label,
    experiment_id_for,
    log_batch,
    log_dataset_input,
    make_client,
    metric_key,
    preflight,
)
from .versions import library_versions


def run_train(spec: dict[str, Any], ctx: JobContext) -> dict[str, Any]:
    ev = ctx.events
    task, target = spec["task"], spec["target"]
    ref = spec["dataset"]

    ev.stage("loading", f"Reading dataset {dataset_label(ref)}")
    df = read_parquet(ref["path"])
    check_training_data(df, task, target, spec["ignore_columns"])
    null_target = int(df[target].isna().sum())
    if null_target:
        df = df[df[target].notna()].reset_index(drop=True)
        ev.warning(f"Dropped {null_target} row(s) whose target '{target}' is null.")

    preflight(spec["tracking_uri"])
    client = make_client(spec["tracking_uri"])
    ctx.runs.client = client
    experiment_id = experiment_id_for(client, spec["experiment_name"])
    versions = library_versions()
    base_tags = {
        "caretflow.job_id": spec["job_id"],
        "caretflow.task": task,
        "caretflow.target": target,
        "caretflow.dataset": dataset_label(ref),
        "caretflow.dataset_hash": ref["content_hash"],
        **{f"caretflow.version.{k}": v for k, v in versions.items()},
        **spec["tags"],
    }
    parent_id = ctx.runs.create(
        experiment_id,
        f"{spec['experiment_name']} · {dataset_label(ref)}",
        {**base_tags, "caretflow.role": "parent"},
    )
    ev.emit("run", role="parent", run_id=parent_id, name="parent")
    log_dataset_input(client, parent_id, ref, df)

    # PyCaret is imported here, not at module level, so a bad spec or target fails in milliseconds.
    ev.stage("setup", "Preparing data (PyCaret setup)")
    from .adapters.pycaret3 import CompareHooks, ModelResult, Pycaret3Session, estimator_params

    session = Pycaret3Session(task)
    summary = session.setup(
        df, target, spec["ignore_columns"], spec["train_size"], spec["folds"], spec["seed"], spec["n_jobs"]
    )
    sort = session.resolve_sort(spec.get("sort"))
    planned = session.plan(spec["include"], spec["exclude"])
    log_batch(
        client,
        parent_id,
        params={
            "task": task,
            "target": target,
            "dataset": dataset_label(ref),
            "train_size": spec["train_size"],
            "folds": spec["folds"],
            "seed": spec["seed"],
            "n_jobs": spec["n_jobs"],
            "ignore_columns": spec["ignore_columns"],
            "include": spec["include"],
            "exclude": spec["exclude"],
            "sort": sort,
            "models": planned,
            **{f"setup.{metric_key(k)}": v for k, v in summary.items() if k not in ("Session id", "Target")},
        },
    )

    ev.stage("compare", f"Comparing {len(planned)} models by {sort}")
    child_runs: dict[str, str] = {}
    streamed: dict[str, dict[str, Any]] = {}

    def on_start(model_id: str, name: str, done: int, total: int) -> None:
        child_runs[model_id] = ctx.runs.create(
            experiment_id,
            name,
            {
                **base_tags,
                "mlflow.parentRunId": parent_id,
                "caretflow.role": "child",
                "caretflow.model_id": model_id,
                "caretflow.model_name": name,
            },
        )
        ev.progress(done, total, f"Training {name} ({done + 1} of {total})")

    def on_done(result: ModelResult, done: int, total: int) -> None:
        run_id = child_runs[result.model_id]
        log_batch(
            client,
            run_id,
            params=result.params,
            metrics={
                **result.metrics,
                **{f"{k}_std": v for k, v in result.std.items()},
                "fit_seconds": result.fit_seconds,
                "wall_seconds": result.wall_seconds,
            },
            stepped=[(f"cv_fold_{k}", v, i) for i, fold in enumerate(result.folds) for k, v in fold.items()],
        )
        ctx.runs.end(run_id, "FINISHED")
        row = {
            "model_id": result.model_id,
            "model_name": result.model_name,
            "metrics": result.metrics,
            "fit_seconds": max(0.0, result.fit_seconds),
            "mlflow_run_id": run_id,
        }
        streamed[result.model_id] = row
        ev.emit("leaderboard_row", row=row)
        ev.progress(done, total, f"{result.model_name} done ({done} of {total})")

    def on_failed(model_id: str, name: str, exc: BaseException) -> None:
        ev.warning(f"{name} ({model_id}) failed and is skipped: {str(exc).splitlines()[0][:300] if str(exc) else type(exc).__name__}")

    best, board = session.compare(
        spec["include"], spec["exclude"], sort, CompareHooks(on_start, on_done, on_failed)
    )
    for model_id, run_id in list(child_runs.items()):
        if model_id not in streamed and run_id in ctx.runs.open:
            ctx.runs.end(run_id, "FAILED")
    leaderboard = session.leaderboard_rows(board)
    for row in leaderboard:
        if row["model_id"] in child_runs:
            row["mlflow_run_id"] = child_runs[row["model_id"]]
    top = leaderboard[0]
    ev.progress(len(planned), len(planned), f"Best: {top['model_name']}")

    ev.stage("finalize", f"Fitting {top['model_name']} on all data")
    final_pipeline = session.finalize(best)

    ev.stage("logging", "Logging the final model and plots to MLflow")
    final_id = ctx.runs.create(
        experiment_id,
        f"{top['model_name']} (final)",
        {
            **base_tags,
            "mlflow.parentRunId": parent_id,
            "caretflow.role": "final",
            "caretflow.model_id": top["model_id"],
            "caretflow.model_name": top["model_name"],
            "caretflow.cv_run_id": top.get("mlflow_run_id", ""),
        },
    )
    ev.emit("run", role="final", run_id=final_id, name=f"{top['model_name']} (final)")
    holdout = session.holdout_metrics(best)
    log_batch(
        client,
        final_id,
        params=estimator_params(best),
        metrics={**top["metrics"], **{f"holdout_{k}": v for k, v in holdout.items()}},
    )
    for name, value in holdout.items():
        if value is not None:
            ev.emit("metric", name=f"holdout {name}", value=value, run_id=final_id)

    with tempfile.TemporaryDirectory(prefix="caretflow-train-") as tmp:
        model_dir = Path(tmp) / MODEL_ARTIFACT_PATH
        sha = save_model(session, final_pipeline, model_dir, task, target, top)
        client.log_artifacts(final_id, str(model_dir), MODEL_ARTIFACT_PATH)
        ev.emit("artifact", name="model", path=MODEL_ARTIFACT_PATH, run_id=final_id, artifact_kind="model")

        plots, plot_warnings = session.save_plots(best, Path(tmp) / "plots")
        for message in plot_warnings:
            ev.warning(message)
        for name, path in plots:
            client.log_artifact(final_id, str(path), "plots")
            ev.emit("artifact", name=name, path=f"plots/{path.name}", run_id=final_id, artifact_kind="plot")

    final_run = client.get_run(final_id)
    log_batch(
        client,
        final_id,
        tags={SHA_TAG: sha, SOURCE_TAG: f"{final_run.info.artifact_uri.rstrip('/')}/{MODEL_ARTIFACT_PATH}"},
    )
    ctx.runs.end(final_id, "FINISHED")
    log_batch(
        client,
        parent_id,
        tags={"caretflow.best_run_id": final_id, "caretflow.best_model": top["model_id"]},
        metrics={k: v for k, v in top["metrics"].items()},
    )
    ctx.runs.end(parent_id, "FINISHED")

    return {
        "kind": "train",
        "experiment_id": experiment_id,
        "parent_run_id": parent_id,
        "best_run_id": final_id,
        "best_model_id": top["model_id"],
        "best_model_name": top["model_name"],
        "model_uri": f"runs:/{final_id}/{MODEL_ARTIFACT_PATH}",
        "model_sha256": sha,
        "sort_metric": sort,
        "leaderboard": leaderboard,
    }


def save_model(session: Any, pipeline: Any, model_dir: Path, task: str, target: str, top: dict[str, Any]) -> str:
    """Write the model in MLflow format (sklearn flavor, cloudpickle) and return its pickle's sha256."""
    import mlflow.sklearn
    from mlflow.models import infer_signature

    from .model_store import PICKLE_NAME, sha256_file
    from .scoring import LABEL

    sample = session.feature_sample(5)
    signature = infer_signature(sample, _label_frame(session.predict(pipeline, sample), LABEL))
    versions = library_versions()
    mlflow.sklearn.save_model(
        pipeline,
        str(model_dir),
        # cloudpickle, not skops: PyCaret pipelines hold types skops does not trust. Loading is gated
        # by the sha256 check in model_store instead.
        serialization_format=mlflow.sklearn.SERIALIZATION_FORMAT_CLOUDPICKLE,
        signature=signature,
        input_example=sample,
        # Explicit requirements: inferring them re-imports the model in a subprocess (slow).
        pip_requirements=[
            f"pycaret=={versions['pycaret']}",
            f"scikit-learn=={versions['sklearn']}",
            f"lightgbm=={versions['lightgbm']}",
            f"pandas=={versions['pandas']}",
            f"numpy=={versions['numpy']}",
            f"mlflow=={versions['mlflow']}",
        ],
        metadata={
            "caretflow_task": task,
            "caretflow_target": target,
            "caretflow_model_id": top["model_id"],
            "caretflow_model_name": top["model_name"],
        },
    )
    return sha256_file(model_dir / PICKLE_NAME)


def _label_frame(values: Any, name: str) -> Any:
    import pandas as pd

    return pd.DataFrame({name: values})
