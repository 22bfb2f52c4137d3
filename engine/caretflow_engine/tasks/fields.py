"""Catalog fields for the top-level keys of a training request (``scope: "spec"``).

Types, defaults, bounds and choices come from the job-spec JSON Schema generated from
packages/contracts (the one source of the request's shape); this module adds what a person
reads: label, help, form group, and the richer field types forms need (a column of the dataset,
model ids, a metric).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ..spec import branches, const_values, load_schema

NUMERIC = ["integer", "float"]
TEXTUAL = ["string"]
DATE_LIKE = ["date", "timestamp", "string", "integer"]
ANY_COLUMN: list[str] = []


@dataclass(frozen=True)
class FieldMeta:
    label: str
    help: str
    group: str
    type: str | None = None  # overrides the JSON type: column, columns, models, metric
    column_kinds: list[str] = field(default_factory=list)
    advanced: bool = False
    when: dict[str, Any] | None = None
    flag: str | None = None  # the CLI's short flag (--date), when the dashed name is long


_COMPARE_HELP = "compare several models and keep the best, or train one model you pick"

META: dict[str, FieldMeta] = {
    "target": FieldMeta("Target column", "The column to predict.", "Data", "column"),
    "ignore_columns": FieldMeta(
        "Ignore columns", "Columns left out of training (ids, leaks of the target, free text you do not want).", "Data", "columns", flag="ignore"),
    "text_columns": FieldMeta(
        "Text columns",
        "Free-text columns turned into word features (TF-IDF) instead of categories.",
        "Data",
        "columns",
        TEXTUAL,
        advanced=True, flag="text-features"),
    "train_size": FieldMeta(
        "Training share", "Share of rows used for training and cross-validation; the rest is held out to test the final model.", "Validation"
    ),
    "folds": FieldMeta("Folds", "Number of cross-validation folds each model is scored on.", "Validation"),
    "fold_strategy": FieldMeta(
        "Fold strategy",
        "How rows are split into folds: kfold (random), stratifiedkfold (keeps class shares), groupkfold (rows of a group stay together; set fold groups), timeseries (past predicts future, in row order). Default: stratified for classification, kfold for regression.",
        "Validation",
        advanced=True,
    ),
    "fold_groups": FieldMeta(
        "Fold groups", "Column of group labels kept together in one fold (for groupkfold).", "Validation", "column", advanced=True
    ),
    "operation": FieldMeta("Mode", f"Whether to {_COMPARE_HELP}.", "Models"),
    "model": FieldMeta("Model", "The model to train when the mode is create.", "Models", "models", when={"operation": "create"}),
    "include": FieldMeta(
        "Models to compare",
        "Only these models are compared. Leave empty for the default set (slow models are left out).",
        "Models",
        "models",
        when={"operation": "compare"},
    ),
    "exclude": FieldMeta(
        "Models to skip", "Models left out of the default set.", "Models", "models", advanced=True, when={"operation": "compare"}
    ),
    "sort": FieldMeta("Rank by", "The metric that ranks the comparison and picks the best model.", "Models", "metric"),
    "custom_metrics": FieldMeta(
        "Custom metrics",
        "Extra metrics scored on every fold: a score function by import path (allowed packages only) or an expression over y_true and y_pred, e.g. mean(abs(y_true - y_pred)).",
        "Models",
        "json",
        advanced=True,
    ),
    "custom_models": FieldMeta(
        "Custom models",
        "Scikit-learn compatible estimators by import path (allowed packages only) that join the comparison like built-in models.",
        "Models",
        "json",
        advanced=True,
    ),
    "dask_scheduler": FieldMeta(
        "Dask scheduler",
        "Spread the comparison's models over a Dask cluster: its scheduler's address, tcp://HOST:PORT or tls://HOST:PORT. "
        "The workers need the engine's Python environment (same PyCaret); the leaderboard arrives when every model has finished, "
        "with each model's mean scores (no per-fold scores).",
        "Models",
        advanced=True,
        when={"operation": "compare"},
        flag="dask",
    ),
    "num_clusters": FieldMeta(
        "Clusters", "How many clusters to form. Leave empty to use the number the elbow method suggests.", "Models", flag="clusters"),
    "fraction": FieldMeta("Anomaly share", "The share of rows expected to be anomalies (the detectors' contamination).", "Models"),
    "date_column": FieldMeta(
        "Date column",
        "The column that says when each value was observed: dates, timestamps, text such as 2021-07-08 or 7/8/2021, "
        "or whole years.",
        "Data", "column", DATE_LIKE, flag="date"),
    "time_column": FieldMeta(
        "Time column", "A separate time-of-day column, joined to the date (e.g. 18:00:00).", "Data", "column", advanced=True, flag="time"),
    "exogenous": FieldMeta(
        "Exogenous columns",
        "Other series that help predict the target. Forecasting beyond the data then needs their future values.",
        "Data",
        "columns",
        NUMERIC,
        advanced=True,
    ),
    "frequency": FieldMeta(
        "Frequency", "The series' frequency as a pandas alias (h, D, W, MS, M...). Inferred from the dates when left empty.", "Data"
    ),
    "horizon": FieldMeta("Horizon", "How many periods ahead to forecast.", "Validation"),
    "duplicates": FieldMeta(
        "Duplicate timestamps",
        "What to do when a timestamp appears more than once: error (and name the rows), or combine them by mean, sum, first or last.",
        "Data",
    ),
    "gaps": FieldMeta(
        "Gaps",
        "What to do with missing periods: error (and name them), carry the last value forward (ffill), interpolate, or fill with zero.",
        "Data",
    ),
    "missing_values": FieldMeta(
        "Missing values",
        "What to do with empty target or exogenous values (and values listed as missing): error (and name the rows), "
        "carry the last value forward (ffill), interpolate, or fill with zero.",
        "Data",
    ),
    "na_values": FieldMeta(
        "Missing-value markers",
        "Numbers that mean 'no measurement' in the target and exogenous columns (e.g. -200 in the UCI air-quality "
        "data), as a JSON list such as [-200]; they are treated like empty values.",
        "Data",
        "json",
        advanced=True,
    ),
    "seasonal_period": FieldMeta(
        "Seasonal period", "Periods in one season (e.g. 7 for daily data with a weekly cycle). Detected when left empty.", "Validation", advanced=True
    ),
    "coverage": FieldMeta("Interval coverage", "Probability the prediction interval should cover (e.g. 0.9).", "Validation"),
    "text_column": FieldMeta("Text column", "The column holding the documents.", "Data", "column", TEXTUAL, flag="text"),
    "method": FieldMeta(
        "Method", "nmf: non-negative matrix factorization on TF-IDF (crisp topics); lda: latent Dirichlet allocation on word counts.", "Models"
    ),
    "num_topics": FieldMeta("Topics", "How many topics to find.", "Models"),
    "top_words": FieldMeta("Words per topic", "How many top words describe each topic.", "Models"),
    "max_features": FieldMeta("Vocabulary size", "The most frequent words kept; rarer words are dropped.", "Models", advanced=True),
    "min_df": FieldMeta("Minimum documents", "A word must appear in at least this many documents.", "Models", advanced=True),
    "layout": FieldMeta(
        "Layout", "transactions: one row per item with a transaction id; basket: one row per basket with its items in one cell.", "Data"
    ),
    "transaction_column": FieldMeta(
        "Transaction column", "The id that groups items into one transaction (e.g. invoice number).", "Data", "column", when={"layout": "transactions"}, flag="transaction"),
    "item_column": FieldMeta("Item column", "The item bought or seen.", "Data", "column", when={"layout": "transactions"}, flag="item"),
    "basket_column": FieldMeta(
        "Basket column", "The column holding a basket's items, separated by the separator.", "Data", "column", TEXTUAL, when={"layout": "basket"}, flag="basket"),
    "separator": FieldMeta("Separator", "What separates items in a basket cell.", "Data", when={"layout": "basket"}),
    "min_support": FieldMeta("Minimum support", "Share of transactions an itemset must appear in.", "Rules"),
    "min_confidence": FieldMeta("Minimum confidence", "How often the rule's consequents appear when its antecedents do.", "Rules"),
    "min_lift": FieldMeta("Minimum lift", "How much more often than by chance (1 = independent).", "Rules"),
    "max_len": FieldMeta("Largest itemset", "The most items in one itemset.", "Rules", advanced=True),
    "ignore_items": FieldMeta("Ignore items", "Items left out (e.g. POSTAGE).", "Rules", "strings", advanced=True),
    "seed": FieldMeta("Seed", "Random seed: the same seed and data give the same results.", "Validation", advanced=True),
    "use_gpu": FieldMeta(
        "GPU",
        "off: CPU only; auto: a GPU where the model supports one; on: require a GPU (refused before the job starts when none is present).",
        "Validation",
        advanced=True,
    ),
}


def _train_branch(task: str) -> dict[str, Any]:
    for branch in branches(load_schema("job-spec.schema.json")):
        if "train" in const_values(branch, "kind") and task in const_values(branch, "task"):
            return branch
    raise KeyError(f"no train spec for task {task}")


def _json_type(prop: dict[str, Any]) -> str:
    if "enum" in prop:
        return "enum"
    kind = prop.get("type")
    if kind == "array":
        return "strings"
    return {"integer": "integer", "number": "number", "boolean": "boolean"}.get(str(kind), "string")


def spec_fields(task: str, names: list[str], *, overrides: dict[str, dict[str, Any]] | None = None) -> list[dict[str, Any]]:
    """Catalog fields for the named top-level keys of the task's train spec, in that order."""
    branch = _train_branch(task)
    props: dict[str, Any] = branch.get("properties", {})
    required = set(branch.get("required", []))
    out = []
    for name in names:
        prop, meta = props[name], META[name]
        item: dict[str, Any] = {
            "name": name,
            "scope": "spec",
            "label": meta.label,
            "type": meta.type or _json_type(prop),
            "required": name in required and "default" not in prop,
            "help": meta.help,
            "group": meta.group,
            "advanced": meta.advanced,
        }
        if "default" in prop:
            item["default"] = prop["default"]
        if "enum" in prop:
            item["values"] = [str(v) for v in prop["enum"]]
        for key, bound in (("minimum", "min"), ("exclusiveMinimum", "min"), ("maximum", "max"), ("exclusiveMaximum", "max")):
            if key in prop:
                item[bound] = prop[key]
        if meta.column_kinds:
            item["columnKinds"] = list(meta.column_kinds)
        if meta.when:
            item["when"] = dict(meta.when)
        if meta.flag:
            item["flag"] = meta.flag
        item.update((overrides or {}).get(name, {}))
        out.append(item)
    return out
