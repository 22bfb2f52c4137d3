"""What every PyCaret 3 experiment type shares: per-model results, streamed comparisons, plots.

Streaming the leaderboard: ``compare_models`` runs once, exactly as a bare call would, so its
final ranking is PyCaret's own. Rows are streamed by wrapping the experiment instance's
``_create_model``: compare_models calls it once per candidate with ``cross_validation=True,
refit=False`` and pulls the per-fold score grid right after, so the wrapper reads the same grid
(``pull()`` without popping) and reports the model the moment its cross-validation ends. The
alternatives were worse: one compare_models call per model changes timing and tie handling and
repeats set-up work; the display hooks are no-ops with ``verbose=False``.
"""

from __future__ import annotations

import os
import tempfile
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ...errors import user_error

FIT_TIME = "TT (Sec)"


@dataclass
class ModelResult:
    """One compared model's cross-validation, as PyCaret computed it."""

    model_id: str
    model_name: str
    metrics: dict[str, float | None]  # mean over folds, PyCaret metric names, plus "TT (Sec)"
    std: dict[str, float | None]
    folds: list[dict[str, float | None]]
    fit_seconds: float
    wall_seconds: float | None  # None: not measured (a model cross-validated on a Dask worker)
    params: dict[str, Any]


@dataclass
class CompareHooks:
    on_model_start: Callable[[str, str, int, int], None]
    on_model_done: Callable[[ModelResult, int, int], None]
    on_model_failed: Callable[[str, str, BaseException], None] = field(default=lambda *_: None)


def num(value: Any) -> float | None:
    try:
        f = float(value)
    except (TypeError, ValueError):
        return None
    return f if np.isfinite(f) else None


# The old private name, kept for modules written against it.
_num = num


def estimator_params(estimator: Any) -> dict[str, Any]:
    try:
        params = estimator.get_params(deep=False)
    except Exception:  # a custom estimator without get_params still trains
        return {}
    return {k: (v if isinstance(v, (int, float, str, bool)) or v is None else repr(v)) for k, v in params.items()}


def model_id_of(estimator: Any) -> str:
    """The id a leaderboard shows for a model PyCaret got as an object (custom estimators)."""
    return f"custom:{type(estimator).__name__}"


def grid_result(model_id: str, name: str, grid: pd.DataFrame, fit_time: Any, wall: float, model: Any) -> ModelResult:
    """A ModelResult from PyCaret's per-fold score grid (rows 0..k-1, Mean, Std)."""
    metric_cols = [c for c in grid.columns if c not in ("cutoff",)]
    folds = []
    for idx in grid.index:
        if isinstance(idx, (int, np.integer)):
            folds.append({str(c): num(grid.loc[idx, c]) for c in metric_cols})
    mean = {str(c): num(grid.loc["Mean", c]) for c in metric_cols} if "Mean" in grid.index else {}
    std = {str(c): num(grid.loc["Std", c]) for c in metric_cols} if "Std" in grid.index else {}
    fit = num(fit_time) or 0.0
    mean[FIT_TIME] = fit
    return ModelResult(model_id, name, mean, std, folds, fit, wall, estimator_params(model))


def streamed_compare(exp: Any, names: dict[str, str], total: int, hooks: CompareHooks, run: Callable[[], Any]) -> Any:
    """Call ``run`` (which calls compare_models) with one hook call per model as its CV ends."""
    original = exp._create_model
    state: dict[str, Any] = {"done": 0, "current": None}

    def create_model_hooked(*args: Any, **kwargs: Any) -> Any:
        comparing = kwargs.get("cross_validation", True) and kwargs.get("refit", True) is False
        estimator = kwargs.get("estimator", args[0] if args else None)
        if not comparing or estimator is None:
            return original(*args, **kwargs)
        model_id = estimator if isinstance(estimator, str) else model_id_of(estimator)
        name = names.get(model_id, model_id if isinstance(estimator, str) else type(estimator).__name__)
        if state["current"] != model_id:  # PyCaret retries a failed model once; count it once
            state["current"] = model_id
            hooks.on_model_start(model_id, name, state["done"], total)
        started = time.time()
        try:
            result = original(*args, **kwargs)
        except Exception as exc:
            hooks.on_model_failed(model_id, name, exc)
            raise
        model, fit_time = result
        grid = exp.pull()
        state["done"] += 1
        hooks.on_model_done(grid_result(model_id, name, grid, fit_time, time.time() - started, model), state["done"], total)
        return result

    exp._create_model = create_model_hooked
    try:
        return run()
    finally:
        exp._create_model = original


def leaderboard_rows(board: pd.DataFrame) -> list[dict[str, Any]]:
    """The sorted comparison grid as protocol rows (best first), without run ids."""
    rows = []
    for rank, (model_id, row) in enumerate(board.iterrows(), start=1):
        metrics = {str(c): num(v) for c, v in row.items() if c != "Model"}
        model_key = str(model_id)
        rows.append(
            {
                "rank": rank,
                "model_id": model_key,
                "model_name": str(row.get("Model", model_id)),
                "metrics": metrics,
                "fit_seconds": max(0.0, metrics.get(FIT_TIME) or 0.0),
            }
        )
    return rows


def all_failed() -> Exception:
    return user_error(
        "AllModelsFailed",
        "Every model failed to train on this data.",
        "Look at the job log for the errors; check the target and feature types, or try other models.",
    )


def check_model_ids(task: str, known: Iterable[str], ids: Iterable[str]) -> None:
    known = list(known)
    unknown = [m for m in ids if m not in known]
    if unknown:
        raise user_error("UnknownModel", f"Unknown {task} model id(s): {', '.join(unknown)}.", f"Use ids from: {', '.join(known)}.")


def save_plots(
    draw: Callable[[str, str], Any], plots: list[tuple[str, str]], out_dir: Path
) -> tuple[list[tuple[str, Path]], list[str]]:
    """PNG files of PyCaret plots; ``draw(plot, folder)`` calls the experiment's plot_model(save=folder).

    Returns (name, path) pairs and a warning per plot the model cannot draw.
    """
    import matplotlib

    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt

    saved: list[tuple[str, Path]] = []
    warnings: list[str] = []
    out_dir.mkdir(parents=True, exist_ok=True)
    for plot, name in plots:
        with tempfile.TemporaryDirectory() as tmp:
            cwd = os.getcwd()
            try:
                # plot_model(save=...) writes into the current directory in some versions.
                os.chdir(tmp)
                written = draw(plot, tmp)
                src = Path(written) if isinstance(written, str) and written else None
                if src is not None and not src.is_absolute():
                    src = Path(tmp) / src
                if src is None or not src.is_file():
                    pngs = sorted(Path(tmp).glob("*.png"))
                    src = pngs[0] if pngs else None
                if src is None:
                    warnings.append(f"plot '{name}' produced no file")
                    continue
                dst = out_dir / f"{name}.png"
                dst.write_bytes(src.read_bytes())
                saved.append((name, dst))
            except Exception as exc:  # e.g. feature importance for a model without coef_/feature_importances_
                first = str(exc).splitlines()[0][:300] if str(exc) else type(exc).__name__
                warnings.append(f"plot '{name}' is not available for this model: {first}")
            finally:
                os.chdir(cwd)
                plt.close("all")
    return saved, warnings
