"""A job process for test_fast_compare: setup on juice, then compare_fast, as the engine runs it.

Usage: python fast_compare_job.py EVENTS_FD PHASE[,PHASE...]   (cwd: engine/)

It writes JSON lines to EVENTS_FD (like the engine's event fd) and, like a job, turns SIGTERM
into JobCancelled. Phases:
- ``openmp``: first use OpenMP with 2 threads in this process (a LightGBM fit), then compare
  models including LightGBM (set up with n_jobs=2): helpers forked after that must not deadlock;
- ``slow``: compare two models made slow (thousands of trees) and report the helpers' pids, so
  the test can look at them and cancel or kill this process meanwhile.
"""

from __future__ import annotations

import json
import os
import sys
import time

from caretflow_engine.threads import set_thread_env

set_thread_env(1)

import pandas as pd  # noqa: E402
import psutil  # noqa: E402

from caretflow_engine import cancel  # noqa: E402
from caretflow_engine.adapters.pycaret3 import CompareHooks, SupervisedSession  # noqa: E402
from caretflow_engine.errors import JobCancelled  # noqa: E402

from .helpers import REPO_DIR  # noqa: E402


def main() -> int:
    events_fd, phases = int(sys.argv[1]), sys.argv[2].split(",")

    def emit(**event: object) -> None:
        os.write(events_fd, (json.dumps(event) + "\n").encode())

    token = cancel.CancelToken()
    cancel.install(token)
    session = SupervisedSession("classification")
    # n_jobs=2: estimators ask for two threads, which compare_fast must bring down to one per helper.
    session.setup(pd.read_csv(REPO_DIR / "demo-data/juice.csv"), "Purchase", ignore_features=[], train_size=0.7, folds=3, seed=123, n_jobs=2)
    token.arm()
    try:
        if "openmp" in phases:
            import lightgbm
            import numpy as np

            x = np.random.default_rng(0).random((4000, 10))
            lightgbm.LGBMClassifier(n_jobs=2, n_estimators=20, verbose=-1).fit(x, x[:, 0] > 0.5)
            # Enough rows that LightGBM really runs its OpenMP loops on more than one thread.
            data = pd.DataFrame(x, columns=[f"f{i}" for i in range(10)]).assign(y=x[:, 0] + x[:, 1] > 1)
            big = SupervisedSession("classification")
            big.setup(data, "y", ignore_features=[], train_size=0.7, folds=2, seed=123, n_jobs=2)
            hooks = CompareHooks(lambda *_: None, lambda r, *_: emit(event="done", model=r.model_id))
            _, board = big.compare(["lightgbm", "dt", "lr"], "Accuracy", hooks, workers=2)
            emit(event="compared", models=[str(i) for i in board.index])
        if "slow" in phases:
            for model_id in ("rf", "et"):
                session.exp._all_models_internal[model_id].args["n_estimators"] = 5000

            def on_start(model_id: str, name: str, done: int, total: int) -> None:
                emit(event="start", model=model_id, helpers=[h.pid for h in psutil.Process().children()])

            session.compare(["rf", "et"], "Accuracy", CompareHooks(on_start, lambda *_: None), workers=2)
            emit(event="compared")
    except JobCancelled:
        token.disarm()
        emit(event="cancelled", at=time.time(), children=[c.pid for c in psutil.Process().children()])
    return 0


if __name__ == "__main__":
    sys.exit(main())
