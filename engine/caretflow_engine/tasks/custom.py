"""Custom metrics and custom estimators from a request, without running arbitrary code.

- A metric is either a score function named by import path, or a small arithmetic expression
  over ``y_true`` and ``y_pred`` (and ``y_prob`` when the metric takes probabilities) using a
  fixed set of numpy functions. Expressions are parsed with ``ast`` and only numbers, those
  names, arithmetic, comparisons and calls of the allowed functions are accepted; there are no
  attributes, subscripts, lambdas or builtins, so an expression cannot reach anything else.
- Import paths (score functions, estimator classes) must start with an allowed package:
  scikit-learn and the libraries PyCaret trains with, plus any prefixes a site lists in
  ``CARETFLOW_ENGINE_IMPORTS`` (comma separated, e.g. ``mycompany.models``). Importing a module
  runs its code, so the list is the site's decision, not the request's.
"""

from __future__ import annotations

import ast
import importlib
import os
from collections.abc import Callable
from typing import Any

import numpy as np

from ..errors import user_error

ALLOWED_IMPORTS = ("sklearn.", "lightgbm.", "xgboost.", "catboost.", "imblearn.", "scipy.stats.", "pyod.models.")
IMPORTS_ENV = "CARETFLOW_ENGINE_IMPORTS"

_FUNCTIONS: dict[str, Callable[..., Any]] = {
    name: getattr(np, name)
    for name in (
        "abs", "mean", "median", "sum", "min", "max", "std", "var", "sqrt", "log", "log1p", "exp", "square",
        "clip", "where", "maximum", "minimum", "round", "count_nonzero", "percentile", "quantile",
    )
}
_NODES = (
    ast.Expression, ast.BinOp, ast.UnaryOp, ast.Compare, ast.BoolOp, ast.Call, ast.Name, ast.Load, ast.Constant,
    ast.Add, ast.Sub, ast.Mult, ast.Div, ast.FloorDiv, ast.Mod, ast.Pow, ast.USub, ast.UAdd,
    ast.Eq, ast.NotEq, ast.Lt, ast.LtE, ast.Gt, ast.GtE, ast.And, ast.Or, ast.Not, ast.BitAnd, ast.BitOr, ast.IfExp,
)


def allowed_prefixes() -> tuple[str, ...]:
    extra = [p.strip().rstrip(".") + "." for p in os.environ.get(IMPORTS_ENV, "").split(",") if p.strip()]
    return (*ALLOWED_IMPORTS, *extra)


def import_object(path: str, what: str) -> Any:
    """The object at an allowed import path; user errors say why one is refused."""
    prefixes = allowed_prefixes()
    if not path.startswith(prefixes):
        raise user_error(
            "ImportNotAllowed",
            f"The {what} '{path}' is outside the packages caretflow may import ({', '.join(p.rstrip('.') for p in prefixes)}).",
            f"Use a {what} from those packages, or ask your administrator to add its package to {IMPORTS_ENV}.",
        )
    module_name, _, attr = path.rpartition(".")
    try:
        module = importlib.import_module(module_name)
        return getattr(module, attr)
    except (ImportError, AttributeError) as exc:
        raise user_error("ImportNotFound", f"Cannot import the {what} '{path}': {exc}.", "Check the spelling and that the package is installed in the engine.") from exc


def compile_expression(expression: str, names: tuple[str, ...]) -> Callable[..., float]:
    """A function of ``names`` computing the expression; user errors point at what is not allowed."""
    try:
        tree = ast.parse(expression, mode="eval")
    except SyntaxError as exc:
        raise user_error("BadExpression", f"The expression '{expression}' is not valid: {exc.msg}.", "Write an arithmetic expression, e.g. mean(abs(y_true - y_pred)).") from exc
    for node in ast.walk(tree):
        if not isinstance(node, _NODES):
            raise user_error(
                "BadExpression",
                f"'{ast.unparse(node) if isinstance(node, ast.expr) else type(node).__name__}' is not allowed in a metric expression.",
                f"Use numbers, {', '.join(names)}, arithmetic and the functions {', '.join(sorted(_FUNCTIONS))}.",
            )
        if isinstance(node, ast.Name) and node.id not in names and node.id not in _FUNCTIONS:
            raise user_error("BadExpression", f"Unknown name '{node.id}' in the metric expression.", f"Use {', '.join(names)} and the functions {', '.join(sorted(_FUNCTIONS))}.")
        if isinstance(node, ast.Call) and not (isinstance(node.func, ast.Name) and node.func.id in _FUNCTIONS):
            raise user_error("BadExpression", "Only the listed numpy functions may be called in a metric expression.", f"Use {', '.join(sorted(_FUNCTIONS))}.")
    code = compile(tree, "<metric>", "eval")

    def evaluate(*args: Any, **_: Any) -> float:
        scope = {**_FUNCTIONS, **{n: np.asarray(a, dtype=float) for n, a in zip(names, args)}}
        return float(eval(code, {"__builtins__": {}}, scope))  # noqa: S307 (the tree was checked above)

    return evaluate


def metric_function(metric: dict[str, Any]) -> Callable[..., float]:
    """The score function of a CustomMetric spec: f(y_true, y_pred_or_proba)."""
    if metric.get("scorer"):
        func = import_object(metric["scorer"], "score function")
        if not callable(func):
            raise user_error("NotCallable", f"'{metric['scorer']}' is not a function.", "Name a score function f(y_true, y_pred).")
        return func
    second = "y_prob" if metric.get("target") == "pred_proba" else "y_pred"
    return compile_expression(metric["expression"], ("y_true", second))


def metric_id(name: str) -> str:
    return "custom_" + "".join(c if c.isalnum() else "_" for c in name.lower())


def estimator_from(model: dict[str, Any]) -> Any:
    """An instance of a CustomModel spec's estimator class with its params."""
    cls = import_object(model["import_path"], "estimator")
    if not isinstance(cls, type):
        raise user_error("NotAnEstimator", f"'{model['import_path']}' is not a class.", "Name an estimator class with fit and predict.")
    try:
        estimator = cls(**model.get("params", {}))
    except TypeError as exc:
        raise user_error("BadEstimatorParams", f"Cannot create {model['import_path']}: {exc}.", "Pass only parameters the class accepts.") from exc
    if not (hasattr(estimator, "fit") and hasattr(estimator, "predict")):
        raise user_error("NotAnEstimator", f"{model['import_path']} has no fit/predict.", "Use a scikit-learn compatible estimator.")
    return estimator
