"""The unsupervised family: clustering and anomaly detection with PyCaret.

kind=train: setup on every row, the elbow curve (k-means inertia, k = 2..10), then caretflow's own
comparison (PyCaret 3 has none for these tasks: one child run and one streamed leaderboard row per
model, ranked in ``ml/unsupervised_rank``) or one model, then a ``final`` run holding the best
model, its charts and plots, and the labels written back as a new version of the dataset.

Clustering: ``num_clusters`` when given, else the elbow method's suggestion (``suggest_k``), else 4
(PyCaret's default) when the curve has no elbow; affinity propagation, mean shift, DBSCAN and
OPTICS find their own count. Anomaly: ``fraction`` is every detector's contamination; the
comparison ranks by consensus between detectors (see ``ml/unsupervised_rank``).

Scoring returns ``Cluster`` ('Cluster 2') or ``Anomaly`` (0/1) and ``Anomaly_Score``, PyCaret's
predict_model columns; models that cannot label new rows answer with their nearest training row's
assignment (``ml/nearest_assignment``), never by refitting on the scored rows.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

from ..data import check_columns, read_dataset
from ..errors import user_error
from ..experiment_log import TrainingLog, metric_params
from ..tracking import dataset_label
from .base import unsupported
from .fields import spec_fields
from .setup_options import setup_fields, validate_setup
from .unsupervised_data import check_unsupervised_data, output_clashes
from .unsupervised_final import ANOMALY, ANOMALY_SCORE, CLUSTER, ClusterChoice, label_frame, log_final_run

if TYPE_CHECKING:
    import pandas as pd

    from ..context import JobContext
    from ..scoring import LoadedModel

OPERATIONS = ["compare", "create"]
DEFAULT_SORT = {"clustering": "Silhouette", "anomaly": "Consensus"}
FALLBACK_CLUSTERS = 4  # PyCaret's create_model default
_FIELDS = {
    task: ["ignore_columns", "operation", "model", "include", "exclude", "sort", own, "seed", "use_gpu"]
    for task, own in (("clustering", "num_clusters"), ("anomaly", "fraction"))
}
_DESCRIPTIONS = {
    "clustering": ("Clustering", "Group similar rows into clusters; each row gets a cluster label."),
    "anomaly": (
        "Anomaly detection", "Flag the rows that differ most from the rest, with an anomaly score for every row."
    ),
}
# Plots emitted as chart data (ml/cluster_charts), and the names caretflow gives them.
_CHARTS = {
    "clustering": {"elbow": "Elbow Plot", "silhouette": "Silhouette Plot", "cluster": "Cluster PCA Plot (2d)",
                   "distribution": "Distribution Plot"},
    "anomaly": {"anomaly_scores": "Anomaly Score Distribution", "anomaly": "Anomaly PCA Plot (2d)"},
}
_CONSENSUS_METRIC = {"id": "consensus", "name": "Consensus", "greaterIsBetter": True, "multiclass": True}
# Setup options that would drop rows (the labels must stay one per dataset row), and PyCaret's
# iterative imputation, which its unsupervised setup refuses.
_ROW_DROPPING = {"remove_outliers", "outliers_method", "outliers_threshold"}


def unsupervised_setup_fields(task: str, setup: Any) -> list[dict[str, Any]]:
    """PyCaret's setup options for the task, less those that would drop rows or that it refuses."""
    out = []
    for f in setup_fields(task, setup):
        if f["name"] in _ROW_DROPPING:
            continue
        if f["name"] == "imputation_type":
            f = {**f, "values": ["simple"], "help": (
                "simple: missing values are filled with a statistic per column"
                " (unsupervised PyCaret has no iterative imputation)."
            )}
        elif f["name"] in ("numeric_imputation", "categorical_imputation") and "values" in f:
            f = {**f, "values": [v for v in f["values"] if v != "drop"]}
        out.append(f)
    return out


class UnsupervisedFamily:
    family = "unsupervised"
    tasks = ("clustering", "anomaly")

    # ---------------------------------------------------------------- catalog
    def describe(self, task: str, probe: Any) -> dict[str, Any]:
        from ..adapters.pycaret3.unsupervised import DEFAULT_MODELS

        facts = probe(task)
        label, description = _DESCRIPTIONS[task]
        charts = _CHARTS[task]
        plots = [
            {"id": k, "name": charts.get(k, v), "chart": k in charts} for k, v in facts.plots.items() if k != "pipeline"
        ]
        plots += [{"id": k, "name": v, "chart": True} for k, v in charts.items() if k not in facts.plots]
        return {
            "task": task,
            "family": self.family,
            "label": label,
            "description": description,
            "operations": OPERATIONS,
            "fields": spec_fields(task, _FIELDS[task]) + unsupervised_setup_fields(task, facts.setup),
            "models": [{**m, "turbo": m["id"] in DEFAULT_MODELS[task]} for m in facts.models],
            "metrics": facts.metrics if task == "clustering" else [_CONSENSUS_METRIC],
            "defaultSort": DEFAULT_SORT[task],
            "plots": plots,
            "predictionColumns": _prediction_help(task),
        }

    # ------------------------------------------------------------------ train
    def train(self, spec: dict[str, Any], ctx: JobContext) -> dict[str, Any]:
        ev = ctx.events
        task = spec["task"]
        timings: dict[str, float] = {}
        t0 = time.monotonic()

        ev.stage("loading", f"Reading dataset {dataset_label(spec['dataset'])}")
        df = read_dataset(spec["dataset"])
        ignore = list(spec["ignore_columns"])
        clashes = output_clashes(task, df, ignore)
        if clashes:
            ev.warning(
                f"The dataset already has {', '.join(clashes)} (labels of an earlier run?):"
                " left out of training and replaced in the labels."
            )
            ignore += clashes
        check_unsupervised_data(df, task, ignore, spec.get("num_clusters"))
        if spec["operation"] == "create" and not spec.get("model"):
            raise user_error(
                "ModelRequired", "operation 'create' needs the model to train.",
                "Set 'model' to a model id from the catalog.",
            )

        log = TrainingLog(spec, ctx, task)
        log.open_parent(f"{spec['experiment_name']} · {dataset_label(spec['dataset'])}", {}, df)

        ev.stage("setup", "Preparing data (PyCaret setup)")
        from ..adapters.pycaret3.common import all_failed
        from ..adapters.pycaret3.probe import setup_method
        from ..adapters.pycaret3.unsupervised import UnsupervisedSession

        options = validate_setup(task, spec["setup"], unsupervised_setup_fields(task, setup_method(task)))
        check_columns(df, {k: v for k, v in options.items() if isinstance(v, list)})
        session = UnsupervisedSession(task)
        summary = session.setup(
            df, ignore_features=ignore, seed=spec["seed"], n_jobs=spec["n_jobs"], use_gpu=spec["use_gpu"],
            options=options,
        )
        sort, greater = _resolve_sort(task, spec.get("sort"))
        planned, too_large = ([spec["model"]], []) if spec["operation"] == "create" else session.plan(
            spec["include"], spec["exclude"]
        )
        if too_large:
            ev.warning(
                f"{', '.join(too_large)} left out of the default comparison: on {len(df):,} rows their time or memory"
                " grows with the square of the rows. Include them by name to train them anyway."
            )
        timings["setup"] = time.monotonic() - t0

        t = time.monotonic()
        choice = _choose_clusters(session, spec, ev)
        if task == "clustering":
            timings["elbow"] = time.monotonic() - t
        log.log_params(log.parent_id, {
            "task": task, "dataset": dataset_label(spec["dataset"]), "seed": spec["seed"], "n_jobs": spec["n_jobs"],
            "ignore_columns": ignore, "operation": spec["operation"], "models": planned, "sort": sort,
            **({"num_clusters": choice.k, "num_clusters_from": choice.source} if task == "clustering"
               else {"fraction": spec["fraction"]}),
            **({"setup_options": options} if options else {}),
            **metric_params("setup", {k: v for k, v in summary.items() if k != "Session id"}),
        })

        t = time.monotonic()
        many = len(planned) > 1
        ev.stage("compare", f"Comparing {len(planned)} models by {sort}" if many else f"Training {planned[0]}")
        fits, rows = self._train_models(session, planned, choice.k, spec["fraction"], log, ctx)
        if not fits:
            raise all_failed()
        if task == "anomaly":
            _add_consensus(fits, rows, log)
        from ..ml.unsupervised_rank import rank_rows

        leaderboard = rank_rows(rows, sort, greater)
        ev.progress(len(planned), len(planned), f"Best: {leaderboard[0]['model_name']}")
        timings["compare"] = time.monotonic() - t

        top = leaderboard[0]
        final = log_final_run(
            session, log, fits[top["model_id"]], top, df=df, spec=spec, choice=choice, timings=timings
        )
        return log.close_training(
            task=task, leaderboard=leaderboard, final=final, sort=sort, outputs=[final["output"]], timings=timings, started=t0
        )

    def _train_models(
        self, session: Any, planned: list[str], k: int, fraction: float, log: TrainingLog, ctx: JobContext
    ) -> tuple[dict[str, Any], list[dict[str, Any]]]:
        """Each model in turn, a child run and a streamed leaderboard row each; a failure is skipped."""
        ev, names = ctx.events, session.models()
        fits: dict[str, Any] = {}
        rows: list[dict[str, Any]] = []
        for done, model_id in enumerate(planned):
            name = names.get(model_id, model_id)
            run_id = log.child(model_id, name)
            ev.progress(done, len(planned), f"Training {name} ({done + 1} of {len(planned)})")
            try:
                fitted = session.create(model_id, num_clusters=k, fraction=fraction)
            except Exception as exc:  # one model failing must not end the comparison
                ctx.runs.end(run_id, "FAILED")
                first = str(exc).splitlines()[0][:300] if str(exc) else type(exc).__name__
                ev.warning(f"{name} ({model_id}) failed and is skipped: {first}")
                continue
            if session.task == "clustering" and fitted.result.metrics.get("Silhouette") is None:
                found = int(fitted.result.metrics["Clusters"] or 0)
                ev.warning(f"{name} ({model_id}) found {found} cluster(s): its cluster metrics are undefined.")
            log.child_done(run_id, fitted.result)
            row = {"model_id": model_id, "model_name": name, "metrics": dict(fitted.result.metrics),
                   "fit_seconds": max(0.0, fitted.result.fit_seconds), "mlflow_run_id": run_id}
            ev.emit("leaderboard_row", row=row)
            fits[model_id] = fitted
            rows.append(row)
            ev.progress(done + 1, len(planned), f"{name} done ({done + 1} of {len(planned)})")
        return fits, rows

    def operate(self, spec: dict[str, Any], ctx: JobContext) -> dict[str, Any]:
        raise unsupported(spec["train"]["task"], spec["operation"]["op"], OPERATIONS)

    # ---------------------------------------------------------------- scoring
    def prediction_columns(self, model: LoadedModel) -> list[str]:
        return [CLUSTER] if model.task == "clustering" else [ANOMALY, ANOMALY_SCORE]

    def score(self, model: LoadedModel, df: pd.DataFrame, options: dict[str, Any]) -> pd.DataFrame:
        from ..scoring import prepare_features

        return label_frame(model.task, model.pipeline, prepare_features(model, df))


def _prediction_help(task: str) -> list[dict[str, str]]:
    if task == "clustering":
        return [{"name": CLUSTER, "help": "the row's cluster, e.g. 'Cluster 2' ('Cluster -1': DBSCAN's noise)"}]
    return [
        {"name": ANOMALY, "help": "1 when the row is an anomaly, else 0"},
        {"name": ANOMALY_SCORE,
         "help": "the detector's anomaly score (higher is more anomalous; comparable within one model only)"},
    ]


def _resolve_sort(task: str, sort: str | None) -> tuple[str, bool]:
    """The metric's display name and whether greater is better; ids and any case are accepted."""
    from ..adapters.pycaret3.common import FIT_TIME
    from ..adapters.pycaret3.probe import probe

    if sort is None:
        sort = DEFAULT_SORT[task]
    if sort in ("TT", FIT_TIME):
        return FIT_TIME, False
    metrics = probe(task).metrics if task == "clustering" else [_CONSENSUS_METRIC]
    wanted = sort.strip().lower()
    for m in metrics:
        if wanted in (m["name"].lower(), m["id"].lower()):
            return m["name"], m["greaterIsBetter"]
    names = ", ".join(m["name"] for m in metrics)
    raise user_error("UnknownSortMetric", f"'{sort}' is not a {task} metric.", f"Sort by one of: {names}, {FIT_TIME}.")


def _choose_clusters(session: Any, spec: dict[str, Any], ev: Any) -> ClusterChoice:
    """The elbow curve (always: it is a chart) and the cluster count models without their own use."""
    from ..ml.cluster_charts import elbow_ks, kmeans_inertias, suggest_k

    if session.task != "clustering":
        return ClusterChoice(0, "none", None, [], [])
    X = session.transformed()
    ks = elbow_ks(len(X))
    ev.log("info", f"Elbow method: k-means inertia for k = {ks[0]}..{ks[-1]}" if ks else "Too few rows for an elbow")
    inertias = kmeans_inertias(X, ks, spec["seed"]) if ks else []
    suggested = suggest_k(ks, inertias)
    requested = spec.get("num_clusters")
    if requested:
        elbow = f" (the elbow method suggests {suggested})" if suggested else ""
        ev.log("info", f"Using num_clusters = {requested}{elbow}")
        return ClusterChoice(int(requested), "request", suggested, ks, inertias)
    if suggested is not None:
        ev.warning(
            f"num_clusters not set: using {suggested} clusters, the elbow method's suggestion"
            f" (k-means inertia, k = 2..{ks[-1]})."
        )
        return ClusterChoice(suggested, "elbow", suggested, ks, inertias)
    k = min(FALLBACK_CLUSTERS, len(X) - 1)
    ev.warning(
        f"num_clusters not set and the inertia curve has no clear elbow: using {k} clusters."
        " Set num_clusters to choose."
    )
    return ClusterChoice(k, "default", None, ks, inertias)


def _add_consensus(fits: dict[str, Any], rows: list[dict[str, Any]], log: TrainingLog) -> None:
    """Each detector's agreement with the others, on its leaderboard row and its child run."""
    from ..ml.unsupervised_rank import CONSENSUS, consensus

    values = consensus({model_id: f.scores for model_id, f in fits.items()})
    for row in rows:
        value = values[row["model_id"]]
        row["metrics"] = {CONSENSUS: value, **row["metrics"]}
        if value is not None:
            log.log_metrics(row["mlflow_run_id"], {CONSENSUS: value})
