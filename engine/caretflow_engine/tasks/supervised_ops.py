"""kind=operate for the supervised family: tune, ensemble, blend, stack, calibrate, optimize_threshold,
finalize or create, on a model of an earlier training job.

The job rebuilds the training job's setup (same data version, options, seed and folds), gets the
source model (recreated from its model id for a leaderboard row, the saved model's estimator for
a final or operation run), runs the operation, and logs the new model as an ``operation`` run under
the training's parent run, tagged with the operation and its source run: CV and hold-out metrics,
plots and the finalized model, registrable like a final run. Requests that cannot apply fail with
a user error before any model is trained.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ..errors import user_error
from ..experiment_log import MODEL_ARTIFACT_PATH, TrainingLog
from ..tracking import dataset_label
from .run_models import RunModel, resolve_run_model
from .supervised_final import log_model_run
from .supervised_setup import PreparedSetup, build_setup, load_training_data

if TYPE_CHECKING:
    from ..adapters.pycaret3 import ModelResult
    from ..context import JobContext

_SHARED = ["compare", "create", "tune", "ensemble", "blend", "stack"]
OPERATIONS = {
    "classification": [*_SHARED, "calibrate", "optimize_threshold", "finalize"],
    "regression": [*_SHARED, "finalize"],
}
_WHY_NOT = {
    "calibrate": "Calibration adjusts predicted class probabilities; a regression model predicts numbers.",
    "optimize_threshold": "The probability threshold decides between two classes; a regression model predicts numbers.",
    "compare": "compare trains a new leaderboard; it is not an operation on a run.",
}


@dataclass
class Outcome:
    """A finished operation: the new model (fitted on the training split), its CV, and what it did."""

    model: Any
    result: ModelResult
    others: list[dict[str, Any]] = field(default_factory=list)  # leaderboard rows beside the new model's
    params: dict[str, Any] = field(default_factory=dict)
    facts: dict[str, Any] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    charts: list[dict[str, Any]] = field(default_factory=list)
    sort: str | None = None


@dataclass
class OpJob:
    """What an operation's runner works with: the job, the rebuilt setup, the request, the models."""

    ctx: JobContext
    prepared: PreparedSetup
    fields: dict[str, Any]  # the training request's task fields
    op: dict[str, Any]  # the Operation
    source: RunModel
    others: list[RunModel]  # the ``with`` runs' models (blend, stack)

    @property
    def session(self) -> Any:
        return self.prepared.session


def operate(spec: dict[str, Any], ctx: JobContext) -> dict[str, Any]:
    ev = ctx.events
    fields, op = spec["train"], spec["operation"]
    task, kind, target = fields["task"], op["op"], fields["target"]
    parent_id = spec["source"]["parent_run_id"]
    timings: dict[str, float] = {}
    t0 = time.monotonic()
    if kind not in OPERATIONS[task] or kind == "compare":
        raise user_error(
            "OperationNotSupported",
            f"The {task} task does not support '{kind}'. {_WHY_NOT.get(kind, '')}".strip(),
            f"Use one of: {', '.join(o for o in OPERATIONS[task] if o != 'compare')}.",
        )

    ev.stage("loading", f"Reading dataset {dataset_label(spec['dataset'])}")
    df = load_training_data(fields, spec["dataset"], ev)
    if kind == "optimize_threshold":
        classes = int(df[target].nunique())
        if classes != 2:
            raise user_error(
                "ThresholdNeedsBinaryTarget",
                f"optimize_threshold needs a target with two classes; '{target}' has {classes}.",
                "Use it on a binary classification; with more classes each row takes the most probable class.",
            )

    log = TrainingLog(spec, ctx, task)
    log.adopt_parent(parent_id)
    source, others = _resolve_models(log, spec, op)

    ev.stage("setup", "Preparing data as the training job did (PyCaret setup)")
    prepared = build_setup(fields, spec, df)
    timings["setup"] = time.monotonic() - t0

    # The runners load PyCaret: imported here, so the refusals above answer in milliseconds.
    from . import supervised_op_runs

    t1 = time.monotonic()
    outcome = supervised_op_runs.RUNNERS[kind](OpJob(ctx, prepared, fields, op, source, others))
    timings["operation"] = time.monotonic() - t1

    result = outcome.result
    top = {"model_id": result.model_id, "model_name": result.model_name, "metrics": result.metrics}
    tags = {"caretflow.operation": kind, "caretflow.source_run_id": source.run_id}
    final = log_model_run(
        prepared.session, log, outcome.model, top, role="operation", extra_tags=tags, timings=timings
    )
    summary = {"params": outcome.params, "facts": outcome.facts, "notes": outcome.notes}
    log.log_json(final["run_id"], "operation", "summary", {"op": op, "source_run_id": source.run_id, **summary})
    log.log_charts(final["run_id"], outcome.charts)
    for note in outcome.notes:
        ev.log("info", note)

    row = {
        "model_id": result.model_id,
        "model_name": result.model_name,
        "metrics": result.metrics,
        "fit_seconds": max(0.0, result.fit_seconds),
        "mlflow_run_id": final["run_id"],
    }
    board = [row, *outcome.others]
    sort = outcome.sort or prepared.sort
    board.sort(key=lambda r: _rank_key(prepared, sort, r))
    for rank, r in enumerate(board, start=1):
        r["rank"] = rank
        ev.emit("leaderboard_row", row=r)
    log.drain()
    timings["total"] = time.monotonic() - t0
    return {
        "op": kind,
        "source_run_id": source.run_id,
        "task": task,
        "experiment_id": log.experiment_id,
        "parent_run_id": parent_id,
        "best_run_id": final["run_id"],
        "best_model_id": result.model_id,
        "best_model_name": result.model_name,
        "model_uri": f"runs:/{final['run_id']}/{MODEL_ARTIFACT_PATH}",
        "model_sha256": final["sha"],
        "sort_metric": sort,
        "leaderboard": board,
        "details": final["details"],
        "outputs": [],
        "timings": {k: round(v, 3) for k, v in timings.items()},
        "summary": summary,
    }


def _resolve_models(log: TrainingLog, spec: dict[str, Any], op: dict[str, Any]) -> tuple[RunModel, list[RunModel]]:
    """The source run's model and the ``with`` runs' (blend, stack), each checked before any training."""
    kind, parent_id = op["op"], spec["source"]["parent_run_id"]
    digests: dict[str, str] = spec.get("model_digests") or {}
    if kind == "create":
        source = _setup_only(spec)
    else:
        source = resolve_run_model(log.client, spec["source"]["run_id"], parent_id, digests)
    others: list[RunModel] = []
    seen = {source.run_id}
    for ref in op.get("with", []):
        model = resolve_run_model(log.client, ref["run_id"], parent_id, digests)
        if model.run_id not in seen:
            seen.add(model.run_id)
            others.append(model)
    if kind in ("blend", "stack") and not others:
        raise user_error(
            "NeedsSeveralModels",
            f"{kind} combines several models, but every run given is the source run {source.run_id}.",
            "Add other model runs of the same training to 'with' (e.g. other leaderboard rows).",
        )
    if kind == "finalize" and source.role != "child":
        raise user_error(
            "AlreadyFinalized",
            f"Run {source.run_id} ({source.model_name}) already holds a model fitted on all data.",
            "Register that run's model, or finalize a leaderboard row (a child run) instead.",
        )
    return source, others


def _setup_only(spec: dict[str, Any]) -> RunModel:
    """create trains a new model in the source's setup; the source run gives the setup, not a model."""
    return RunModel(spec["source"]["run_id"], "setup", "", "", None)


def _rank_key(prepared: PreparedSetup, sort: str, row: dict[str, Any]) -> tuple[int, float]:
    """Best first by the sort metric (the new model first on a tie); rows without it last."""
    value = row["metrics"].get(sort)
    if value is None:
        return (1, 0.0)
    from ..adapters.pycaret3.supervised_ops import greater_is_better

    return (0, -value if greater_is_better(prepared.session, sort) else value)
