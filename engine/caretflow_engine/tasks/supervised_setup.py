"""The PyCaret setup of a supervised job, built from the task fields of a training request.

Training and every operation on one of its runs (tune, ensemble, blend...) build their setup here,
from the same fields, data version and seed, so an operation works on exactly the training job's
data split, preprocessing and folds: a recreated model gets the same CV scores as its leaderboard row.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ..data import check_columns, check_training_data, read_dataset
from . import custom
from .setup_options import setup_fields, validate_setup

if TYPE_CHECKING:
    import pandas as pd

    from ..adapters.pycaret3 import SupervisedSession
    from ..events import EventWriter


@dataclass
class PreparedSetup:
    """A supervised session after setup, with what training and operations need from the request."""

    session: SupervisedSession
    options: dict[str, Any]  # validated PyCaret setup() options
    summary: dict[str, str]  # PyCaret's setup table, for logging
    custom_models: list[Any]  # estimators from the request's custom_models, in request order
    sort: str  # the display name of the ranking metric


def load_training_data(fields: dict[str, Any], dataset: dict[str, Any], ev: EventWriter) -> pd.DataFrame:
    """The dataset, checked against the request; rows whose target is null are dropped (with a warning)."""
    task, target = fields["task"], fields["target"]
    df = read_dataset(dataset)
    check_training_data(df, task, target, fields["ignore_columns"])
    groups = [fields["fold_groups"]] if fields.get("fold_groups") else []
    check_columns(df, {"text_columns": fields["text_columns"], "fold_groups": groups})
    null_target = int(df[target].isna().sum())
    if null_target:
        df = df[df[target].notna()].reset_index(drop=True)
        ev.warning(f"Dropped {null_target} row(s) whose target '{target}' is null.")
    return df


def build_setup(fields: dict[str, Any], envelope: dict[str, Any], df: pd.DataFrame) -> PreparedSetup:
    """Run PyCaret's setup for the request's task fields; ``envelope`` gives seed, n_jobs and use_gpu."""
    # PyCaret is imported here, not at module level, so a bad spec or target fails in milliseconds.
    from ..adapters.pycaret3 import SupervisedSession
    from ..adapters.pycaret3.probe import setup_method

    task = fields["task"]
    options = validate_setup(task, fields["setup"], setup_fields(task, setup_method(task)))
    check_columns(df, {k: v for k, v in options.items() if isinstance(v, list)})
    session = SupervisedSession(task)
    summary = session.setup(
        df,
        fields["target"],
        ignore_features=fields["ignore_columns"],
        train_size=fields["train_size"],
        folds=fields["folds"],
        seed=envelope["seed"],
        n_jobs=envelope["n_jobs"],
        text_features=fields["text_columns"],
        fold_strategy=fields.get("fold_strategy"),
        fold_groups=fields.get("fold_groups"),
        use_gpu=envelope["use_gpu"],
        options=options,
    )
    for metric in fields["custom_metrics"]:
        session.add_metric(
            custom.metric_id(metric["name"]),
            metric["name"],
            custom.metric_function(metric),
            metric["target"],
            metric["greater_is_better"],
        )
    custom_models = [custom.estimator_from(m) for m in fields["custom_models"]]
    return PreparedSetup(session, options, summary, custom_models, session.resolve_sort(fields.get("sort")))
