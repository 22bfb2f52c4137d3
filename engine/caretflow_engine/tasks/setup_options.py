"""PyCaret setup() options caretflow exposes (``scope: "setup"`` catalog fields).

This is the seed's "feature engineering tools": each option says what it does to the data.
An option applies to a task when that task's experiment's ``setup`` takes it, and its default is
the one in that signature, so the catalog follows PyCaret rather than a copy of its defaults.
Options left out here (custom pipelines, logging, engines) are not reachable from a request:
``validate_setup`` refuses unknown keys with the list of known ones.
"""

from __future__ import annotations

import inspect
from dataclasses import dataclass, field
from typing import Any

from ..errors import user_error

PRE = "Preprocessing"
FE = "Feature engineering"
SPLIT = "Validation"


@dataclass(frozen=True)
class SetupOption:
    name: str
    label: str
    type: str  # boolean, integer, number, enum, columns, string
    help: str
    group: str
    values: list[str] = field(default_factory=list)
    min: float | None = None
    max: float | None = None
    nullable: bool = False
    column_kinds: list[str] = field(default_factory=list)
    advanced: bool = True
    when: dict[str, Any] | None = None


OPTIONS: list[SetupOption] = [
    SetupOption(
        "imputation_type", "Imputation", "enum",
        "How missing values are filled: simple (a statistic per column) or iterative (a model predicts each missing value from the others; slower).",
        PRE, ["simple", "iterative"], nullable=True, advanced=False,
    ),
    SetupOption(
        "numeric_imputation", "Numeric imputation", "enum", "Fills missing numbers with the column's mean, median or mode, a k-NN estimate, or drops the rows.",
        PRE, ["mean", "median", "mode", "knn", "drop"], when={"imputation_type": "simple"},
    ),
    SetupOption(
        "categorical_imputation", "Categorical imputation", "enum", "Fills missing categories with the most frequent one, or drops the rows.",
        PRE, ["mode", "drop"], when={"imputation_type": "simple"},
    ),
    SetupOption(
        "max_encoding_ohe", "One-hot limit", "integer",
        "Categorical columns with at most this many values become one column per value (one-hot); columns with more are target-encoded.",
        PRE, min=-1,
    ),
    SetupOption(
        "rare_to_value", "Rare categories", "number",
        "Categories rarer than this share of rows are merged into one 'rare' category (fewer columns, less overfitting). Empty: keep all.",
        PRE, min=0, max=0.5, nullable=True,
    ),
    SetupOption(
        "normalize", "Normalize", "boolean", "Rescales numeric columns so they are comparable (needed by distance- and gradient-based models).",
        FE, advanced=False,
    ),
    SetupOption(
        "normalize_method", "Normalize method", "enum",
        "zscore: mean 0, standard deviation 1; minmax: into 0–1; maxabs: into -1–1 keeping zeros; robust: median and IQR, resists outliers.",
        FE, ["zscore", "minmax", "maxabs", "robust"], when={"normalize": True},
    ),
    SetupOption(
        "transformation", "Transformation", "boolean", "Reshapes skewed numeric columns towards a normal distribution.", FE, advanced=False,
    ),
    SetupOption(
        "transformation_method", "Transformation method", "enum",
        "yeo-johnson: a power transform; quantile: maps values onto a normal distribution by rank.",
        FE, ["yeo-johnson", "quantile"], when={"transformation": True},
    ),
    SetupOption(
        "transform_target", "Transform target", "boolean", "Reshapes a skewed target before training and back after predicting.", FE,
    ),
    SetupOption(
        "transform_target_method", "Target transformation", "enum", "yeo-johnson or quantile, as for features.", FE,
        ["yeo-johnson", "quantile"], when={"transform_target": True},
    ),
    SetupOption(
        "polynomial_features", "Polynomial features", "boolean",
        "Adds products and powers of numeric columns (e.g. a·b, a²): captures interactions, adds many columns.", FE,
    ),
    SetupOption(
        "polynomial_degree", "Polynomial degree", "integer", "Highest power of the polynomial features.", FE, min=2, max=5,
        when={"polynomial_features": True},
    ),
    SetupOption(
        "bin_numeric_features", "Bin columns", "columns",
        "Numeric columns turned into interval bins (e.g. age into ranges); the bins replace the column.", FE, column_kinds=["integer", "float"],
    ),
    SetupOption(
        "low_variance_threshold", "Low-variance threshold", "number",
        "Drops columns whose variance is at most this value (0 drops constant columns). Empty: keep all.", FE, min=0, nullable=True,
    ),
    SetupOption(
        "remove_multicollinearity", "Remove multicollinearity", "boolean",
        "Drops one of each pair of columns correlated above the threshold.", FE,
    ),
    SetupOption(
        "multicollinearity_threshold", "Correlation threshold", "number", "Pairs correlated above this are thinned out.", FE, min=0, max=1,
        when={"remove_multicollinearity": True},
    ),
    SetupOption(
        "feature_selection", "Feature selection", "boolean", "Keeps only the most useful columns, chosen by a model or a statistical test.", FE,
    ),
    SetupOption(
        "feature_selection_method", "Selection method", "enum",
        "classic: importance from a model; univariate: a statistical test per column; sequential: adds columns one by one (slow).",
        FE, ["classic", "univariate", "sequential"], when={"feature_selection": True},
    ),
    SetupOption(
        "n_features_to_select", "Columns to keep", "number", "A count (1, 2, ...) or a share of columns below 1 (e.g. 0.2).", FE, min=0,
        when={"feature_selection": True},
    ),
    SetupOption(
        "pca", "PCA", "boolean", "Replaces the columns by principal components (fewer, uncorrelated columns; less interpretable).", FE,
    ),
    SetupOption("pca_method", "PCA method", "enum", "linear, kernel (non-linear) or incremental (for big data).", FE,
                ["linear", "kernel", "incremental"], when={"pca": True}),
    SetupOption(
        "pca_components", "Components", "number", "A count (1, 2, ...), or a share of variance to keep below 1 (e.g. 0.95). Empty: all.",
        FE, min=0, nullable=True, when={"pca": True},
    ),
    SetupOption(
        "remove_outliers", "Remove outliers", "boolean", "Drops training rows an outlier detector flags (the hold-out set keeps them).", PRE,
    ),
    SetupOption("outliers_method", "Outlier detector", "enum", "iforest (isolation forest), ee (elliptic envelope) or lof (local outlier factor).",
                PRE, ["iforest", "ee", "lof"], when={"remove_outliers": True}),
    SetupOption("outliers_threshold", "Outlier share", "number", "Share of training rows removed as outliers.", PRE, min=0, max=0.5,
                when={"remove_outliers": True}),
    SetupOption(
        "fix_imbalance", "Fix class imbalance", "boolean", "Resamples training folds so rare classes weigh as much as common ones.", PRE,
        advanced=False,
    ),
    SetupOption(
        "fix_imbalance_method", "Resampling method", "enum",
        "SMOTE and ADASYN synthesize rare-class rows; RandomOverSampler repeats them; RandomUnderSampler drops common-class rows.",
        PRE, ["SMOTE", "ADASYN", "RandomOverSampler", "RandomUnderSampler"], when={"fix_imbalance": True},
    ),
    SetupOption("data_split_shuffle", "Shuffle before split", "boolean", "Shuffles rows before the train/hold-out split.", SPLIT),
    SetupOption("data_split_stratify", "Stratify the split", "boolean", "Keeps class shares equal in the training and hold-out rows.", SPLIT),
    SetupOption("fold_shuffle", "Shuffle folds", "boolean", "Shuffles rows before cutting folds (kfold and stratifiedkfold).", SPLIT),
    SetupOption(
        "numeric_features", "Treat as numeric", "columns", "Columns to treat as numbers even if they look categorical.", PRE,
    ),
    SetupOption(
        "categorical_features", "Treat as categorical", "columns", "Columns to treat as categories even if they hold numbers (e.g. codes).", PRE,
    ),
    SetupOption("date_features", "Date columns", "columns", "Columns to expand into day, month and year.", PRE),
    # time series
    SetupOption(
        "numeric_imputation_target", "Fill target gaps", "enum",
        "How missing target values are filled before training.", PRE, ["drift", "linear", "nearest", "mean", "median", "backfill", "bfill", "pad", "ffill", "zero"],
        nullable=True,
    ),
    SetupOption(
        "numeric_imputation_exogenous", "Fill exogenous gaps", "enum", "How missing exogenous values are filled.", PRE,
        ["drift", "linear", "nearest", "mean", "median", "backfill", "bfill", "pad", "ffill", "zero"], nullable=True,
    ),
    SetupOption(
        "scale_target", "Scale target", "enum", "Rescales the target before training (and back for forecasts).", FE,
        ["zscore", "minmax", "maxabs", "robust"], nullable=True,
    ),
    SetupOption(
        "scale_exogenous", "Scale exogenous", "enum", "Rescales the exogenous columns.", FE, ["zscore", "minmax", "maxabs", "robust"], nullable=True,
    ),
]

_BY_NAME = {o.name: o for o in OPTIONS}
# transform_target means different things to PyCaret's time-series setup (a method name): keep it supervised.
_TASK_ONLY = {"transform_target": {"regression"}, "transform_target_method": {"regression"}}


def _signature_defaults(setup: Any) -> dict[str, Any]:
    return {name: p.default for name, p in inspect.signature(setup).parameters.items() if p.default is not inspect.Parameter.empty}


def setup_fields(task: str, setup: Any) -> list[dict[str, Any]]:
    """Catalog fields for the options ``setup`` (an experiment's setup method) accepts."""
    defaults = _signature_defaults(setup)
    out = []
    for o in OPTIONS:
        if o.name not in defaults or task not in _TASK_ONLY.get(o.name, {task}):
            continue
        default = defaults[o.name]
        item: dict[str, Any] = {
            "name": o.name,
            "scope": "setup",
            "label": o.label,
            "type": o.type,
            "required": False,
            "default": list(default) if isinstance(default, (list, tuple)) else default,
            "help": o.help + (" Empty: PyCaret's default." if o.nullable and default is None else ""),
            "group": o.group,
            "advanced": o.advanced,
        }
        if o.values:
            item["values"] = list(o.values)
        if o.min is not None:
            item["min"] = o.min
        if o.max is not None:
            item["max"] = o.max
        if o.column_kinds:
            item["columnKinds"] = list(o.column_kinds)
        if o.when:
            item["when"] = dict(o.when)
        out.append(item)
    return out


def validate_setup(task: str, options: dict[str, Any], allowed: list[dict[str, Any]]) -> dict[str, Any]:
    """The request's setup options checked against the catalog fields; returns them as setup() kwargs."""
    known = {f["name"]: f for f in allowed}
    out: dict[str, Any] = {}
    for name, value in options.items():
        spec = known.get(name)
        if spec is None:
            raise user_error(
                "UnknownSetupOption",
                f"'{name}' is not a setup option of the {task} task.",
                f"Use one of: {', '.join(known)} (GET /api/catalog lists them with their help).",
            )
        out[name] = _check_value(name, value, spec, _BY_NAME[name])
    return out


def _check_value(name: str, value: Any, field_: dict[str, Any], option: SetupOption) -> Any:
    def bad(expected: str) -> Exception:
        return user_error("InvalidSetupOption", f"Setup option '{name}' must be {expected}, got {value!r}.", field_["help"])

    if value is None:
        if option.nullable:
            return None
        raise bad("set (it cannot be empty)")
    kind = field_["type"]
    if kind == "boolean":
        if not isinstance(value, bool):
            raise bad("true or false")
    elif kind in ("integer", "number"):
        if isinstance(value, bool) or not isinstance(value, (int, float)) or (kind == "integer" and int(value) != value):
            raise bad("a whole number" if kind == "integer" else "a number")
        if ("min" in field_ and value < field_["min"]) or ("max" in field_ and value > field_["max"]):
            raise bad(f"between {field_.get('min', '-inf')} and {field_.get('max', 'inf')}")
        value = int(value) if kind == "integer" or (isinstance(value, float) and value.is_integer() and value >= 1) else value
    elif kind == "enum":
        if value not in field_.get("values", []):
            raise bad(f"one of {', '.join(field_['values'])}")
    elif kind == "columns":
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise bad("a list of column names")
    return value
