"""Baseline for bench/train-overhead: the same training as `caretflow train`, as a bare PyCaret script.

setup + compare_models + finalize_model, nothing else (no tracking, no plots, no server).
Prints one JSON line on stdout's last line: wall seconds (from interpreter start) and the leaderboard order.
"""

import argparse
import json
import os
import sys
import time

T0 = time.time()


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--csv", required=True)
    p.add_argument("--task", choices=["classification", "regression"], required=True)
    p.add_argument("--target", required=True)
    p.add_argument("--folds", type=int, default=5)
    p.add_argument("--train-size", type=float, default=0.7)
    p.add_argument("--seed", type=int, default=123)
    p.add_argument("--n-jobs", type=int, default=1)
    p.add_argument("--include", default="")
    a = p.parse_args()
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[var] = str(a.n_jobs)

    import pandas as pd

    if a.task == "classification":
        from pycaret.classification import ClassificationExperiment as Experiment
    else:
        from pycaret.regression import RegressionExperiment as Experiment

    t_imported = time.time()
    data = pd.read_csv(a.csv)
    exp = Experiment()
    exp.setup(data, target=a.target, train_size=a.train_size, fold=a.folds, session_id=a.seed, n_jobs=a.n_jobs, verbose=False, html=False, system_log=False)
    include = [m for m in a.include.split(",") if m] or None
    best = exp.compare_models(include=include, verbose=False)
    board = exp.pull()
    exp.finalize_model(best)
    ids = list(board.index)
    print(json.dumps({"wall_s": time.time() - T0, "after_import_s": time.time() - t_imported, "order": ids, "metrics": board.drop(columns=["Model"]).iloc[0].to_dict()}))
    sys.stdout.flush()


if __name__ == "__main__":
    main()
