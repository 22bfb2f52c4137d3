"""Where does PyCaret's compare_models spend its time? One fresh process per measurement.

For one dataset and one n_jobs it runs PyCaret's default ``setup`` + ``compare_models`` and
records, per model: wall time of the whole ``_create_model`` call, the fit and score seconds
sklearn's ``cross_validate`` reports per fold, and the CPU seconds the process tree (this process
plus joblib's loky workers) burned meanwhile. CPU / (wall x cores) shows idle or busy-waiting cores:
busy-waiting burns CPU without shortening fit time, idle cores burn nothing.

    engine/.venv/bin/python bench/compare_profile.py --dataset juice --n-jobs -1 1
    engine/.venv/bin/python bench/compare_profile.py --dataset bank --n-jobs 1 --json out.json

With several ``--n-jobs`` values each runs in its own fresh process, interleaved, ``--repeat`` times.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DATASETS = {
    "juice": ("classification", "Purchase"),
    "bank": ("classification", "deposit"),
    "insurance": ("regression", "charges"),
}


def _tree_cpu(psutil) -> float:  # noqa: ANN001 -- psutil passed in so the module imports nothing heavy
    """User+system CPU seconds of this process and its live children (loky workers)."""
    me = psutil.Process()
    total = sum(me.cpu_times()[:2])
    for child in me.children(recursive=True):
        try:
            total += sum(child.cpu_times()[:2])
        except psutil.NoSuchProcess:
            pass
    return total


def profile_once(dataset: str, n_jobs: int, folds: int, seed: int) -> dict:
    """In this (fresh) process: imports, then a timed setup + compare_models with per-model figures."""
    import numpy as np
    import pandas as pd
    import psutil
    import sklearn.model_selection

    task, target = DATASETS[dataset]
    if task == "classification":
        from pycaret.classification import ClassificationExperiment as Experiment
    else:
        from pycaret.regression import RegressionExperiment as Experiment

    data = pd.read_csv(ROOT / "demo-data" / f"{dataset}.csv")
    # PyCaret imports cross_validate inside _create_model_with_cv, so patching the module attribute
    # lets us read the per-fold fit/score times PyCaret throws away.
    fold_times: list[tuple[float, float]] = []
    original_cv = sklearn.model_selection.cross_validate

    def cross_validate_recording(*args, **kwargs):
        scores = original_cv(*args, **kwargs)
        fold_times.append((float(np.sum(scores["fit_time"])), float(np.sum(scores["score_time"]))))
        return scores

    sklearn.model_selection.cross_validate = cross_validate_recording

    t0, c0 = time.perf_counter(), _tree_cpu(psutil)
    exp = Experiment()
    exp.setup(data, target=target, fold=folds, session_id=seed, n_jobs=n_jobs, verbose=False, html=False, system_log=False)
    t_setup, c_setup = time.perf_counter(), _tree_cpu(psutil)

    models: list[dict] = []
    original_create = exp._create_model

    def create_recording(*args, **kwargs):
        start, cpu = time.perf_counter(), _tree_cpu(psutil)
        before = len(fold_times)
        try:
            return original_create(*args, **kwargs)
        finally:
            fit, score = fold_times[-1] if len(fold_times) > before else (None, None)
            models.append(
                {
                    "model": kwargs.get("estimator") if isinstance(kwargs.get("estimator"), str) else type(kwargs.get("estimator")).__name__,
                    "cv": kwargs.get("cross_validation", True),
                    "wall": time.perf_counter() - start,
                    "cpu": _tree_cpu(psutil) - cpu,
                    "fit_sum": fit,
                    "score_sum": score,
                }
            )

    exp._create_model = create_recording
    exp.compare_models(verbose=False)
    t_end, c_end = time.perf_counter(), _tree_cpu(psutil)
    board = exp.pull()
    sort_col = "Accuracy" if task == "classification" else "R2"
    return {
        "dataset": dataset,
        "n_jobs": n_jobs,
        "folds": folds,
        "cores": os.cpu_count(),
        "setup_s": t_setup - t0,
        "setup_cpu_s": c_setup - c0,
        "compare_s": t_end - t_setup,
        "compare_cpu_s": c_end - c_setup,
        "models": models,
        "top3": [[str(i), float(board.loc[i, sort_col])] for i in board.index[:3]],
    }


def report(result: dict) -> str:
    cores = result["cores"]
    lines = [
        f"{result['dataset']} n_jobs={result['n_jobs']} folds={result['folds']}: setup {result['setup_s']:.1f}s "
        f"(cpu {result['setup_cpu_s']:.1f}s), compare {result['compare_s']:.1f}s "
        f"(cpu {result['compare_cpu_s']:.1f}s = {result['compare_cpu_s'] / result['compare_s'] / cores:.0%} of {cores} cores)",
        f"  {'model':10} {'wall':>7} {'fit':>7} {'score':>7} {'other':>7} {'cpu':>7} {'cores%':>6}",
    ]
    for m in result["models"]:
        fit, score = m["fit_sum"], m["score_sum"]
        other = m["wall"] - fit - score if fit is not None and result["n_jobs"] == 1 else None
        label = m["model"] + ("" if m["cv"] else " (refit)")
        lines.append(
            f"  {label:10} {m['wall']:7.2f} {fit if fit is not None else float('nan'):7.2f} "
            f"{score if score is not None else float('nan'):7.2f} {other if other is not None else float('nan'):7.2f} "
            f"{m['cpu']:7.2f} {m['cpu'] / max(m['wall'], 1e-9) / cores:6.0%}"
        )
    cv_models = [m for m in result["models"] if m["cv"]]
    lines.append(
        f"  sum: cv wall {sum(m['wall'] for m in cv_models):.1f}s, fit {sum(m['fit_sum'] or 0 for m in cv_models):.1f}s, "
        f"score {sum(m['score_sum'] or 0 for m in cv_models):.1f}s; top3 {result['top3']}"
    )
    return "\n".join(lines)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--dataset", choices=list(DATASETS), default="juice")
    p.add_argument("--n-jobs", type=int, nargs="+", default=[-1, 1])
    p.add_argument("--folds", type=int, default=10)
    p.add_argument("--seed", type=int, default=123)
    p.add_argument("--repeat", type=int, default=1)
    p.add_argument("--json", help="append every result as one JSON line to this file")
    p.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    a = p.parse_args()
    if a.child:
        print(json.dumps(profile_once(a.dataset, a.n_jobs[0], a.folds, a.seed)))
        return
    for _ in range(a.repeat):
        for n_jobs in a.n_jobs:
            # Fresh cwd (logs.log) and TMPDIR: PyCaret's joblib cache there outlives the process.
            with tempfile.TemporaryDirectory(prefix="compare-profile-") as tmp:
                out = subprocess.run(
                    [sys.executable, __file__, "--child", "--dataset", a.dataset, "--n-jobs", str(n_jobs), "--folds", str(a.folds), "--seed", str(a.seed)],
                    check=True, capture_output=True, text=True, cwd=tmp, env={**os.environ, "TMPDIR": tmp},
                )
            result = json.loads(out.stdout.strip().splitlines()[-1])
            print(report(result), flush=True)
            if a.json:
                with open(a.json, "a") as f:
                    f.write(json.dumps(result) + "\n")


if __name__ == "__main__":
    main()
