"""A bare PyCaret comparison (setup + compare_models), to check that the engine ranks models the same.

Usage: python bare_compare.py PARQUET TASK TARGET FOLDS SEED N_JOBS MODEL[,MODEL...]
Prints the leaderboard's model ids, best first, as JSON.
"""

import json
import os
import sys

path, task, target, folds, seed, n_jobs, models = sys.argv[1:8]
for name in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[name] = n_jobs  # the engine's thread policy, so numerics match

import pandas as pd  # noqa: E402

if task == "classification":
    from pycaret.classification import ClassificationExperiment as Experiment
else:
    from pycaret.regression import RegressionExperiment as Experiment

exp = Experiment()
exp.setup(
    pd.read_parquet(path), target=target, fold=int(folds), session_id=int(seed), n_jobs=int(n_jobs),
    verbose=False, html=False, log_experiment=False, system_log=False,
)
exp.compare_models(include=models.split(","), n_select=1, verbose=False)
print(json.dumps([str(i) for i in exp.pull().index]))
