"""The run that holds a supervised model: hold-out metrics and the model finalized on all data.
A training job's ``final`` run and every operation's run (tune, ensemble...) are logged here; the
evaluate job that follows adds charts, plots, SHAP and the report (supervised_eval.py)."""

from __future__ import annotations

import tempfile
import time
from pathlib import Path
from typing import Any

from ..experiment_log import MODEL_ARTIFACT_PATH, TrainingLog
from ..ml.explain import BACKGROUND_ROWS
from ..model_store import SHA_TAG, SOURCE_TAG, save_model

LABEL = "prediction_label"


def log_model_run(
    session: Any, log: TrainingLog, best: Any, top: dict[str, Any], *, role: str, extra_tags: dict[str, str], timings: dict[str, float]
) -> dict[str, Any]:
    """Hold-out metrics and the model finalized on all data: one run to register."""
    ev = log.ctx.events
    t = time.monotonic()
    ev.stage("finalize", f"Fitting {top['model_name']} on all data")
    final_pipeline = session.finalize(best)
    timings["finalize"] = time.monotonic() - t

    t = time.monotonic()
    ev.stage("logging", "Logging the model to MLflow")
    from ..adapters.pycaret3 import estimator_params

    run_id = log.model_run(role, top["model_id"], top["model_name"], extra_tags)
    holdout, _scored = session.holdout(best)
    log.log_metrics(run_id, {**top["metrics"], **{f"holdout_{k}": v for k, v in holdout.items()}}, params=estimator_params(best))
    for name, value in holdout.items():
        if value is not None:
            ev.emit("metric", name=f"holdout {name}", value=value, run_id=run_id)
    details = details_of(session, holdout, best)
    # Online explanations need a background sample in the model's feature space; it travels inside
    # the pickled pipeline, so the model's hash covers it.
    X_train, _ = session.train_data()
    final_pipeline.caretflow_background = X_train.sample(n=min(BACKGROUND_ROWS, len(X_train)), random_state=0)

    with tempfile.TemporaryDirectory(prefix="caretflow-train-") as tmp:
        model_dir = Path(tmp) / MODEL_ARTIFACT_PATH
        sample = session.feature_sample(5)
        classes = session.classes()
        sha = save_model(
            final_pipeline,
            model_dir,
            sample,
            _label_frame(session.predict(final_pipeline, sample)),
            {
                "caretflow_task": session.task,
                "caretflow_target": session.target,
                "caretflow_model_id": top["model_id"],
                "caretflow_model_name": top["model_name"],
                **({"caretflow_classes": classes} if classes else {}),
            },
        )
        log.log_model_dir(run_id, model_dir)

    log.log_metrics(run_id, {}, tags={SHA_TAG: sha, SOURCE_TAG: f"{log.artifact_uri(run_id)}/{MODEL_ARTIFACT_PATH}"})
    log.end(run_id)
    timings["logging"] = time.monotonic() - t
    return {"run_id": run_id, "sha": sha, "details": details}

def details_of(session: Any, holdout: dict[str, float | None], best: Any) -> dict[str, Any]:
    if session.task == "regression":
        return {"task": "regression", "holdout": holdout}
    return {"task": "classification", "classes": session.classes(), "holdout": holdout, "per_class": per_class_report(session, best)}


def per_class_report(session: Any, best: Any) -> list[dict[str, Any]]:
    """Hold-out precision, recall, F1 and support per class (sklearn's classification report)."""
    from sklearn.metrics import precision_recall_fscore_support

    exp = session.exp
    y_true = exp.y_test_transformed
    y_pred = best.predict(exp.X_test_transformed)
    classes = session.classes()
    labels = list(range(len(classes)))
    precision, recall, f1, support = precision_recall_fscore_support(y_true, y_pred, labels=labels, zero_division=0)
    return [
        {"class": c, "precision": float(p), "recall": float(r), "f1": float(f), "support": int(s)}
        for c, p, r, f, s in zip(classes, precision, recall, f1, support)
    ]


def _label_frame(values: Any) -> Any:
    import pandas as pd

    return pd.DataFrame({LABEL: values})



