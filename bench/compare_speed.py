"""compare_models speed: PyCaret's defaults against caretflow's compare, same data, folds and seed.

    engine/.venv/bin/python bench/compare_speed.py                       # juice, insurance, bank
    engine/.venv/bin/python bench/compare_speed.py --dataset juice --repeat 3
    engine/.venv/bin/python bench/compare_speed.py --dataset bank --sample 10000   # quicker, not the figure to report

Each measurement runs in a fresh process and times setup + compare from after the imports:

- baseline: PyCaret's default ``setup(data, target, fold, session_id)`` (n_jobs=-1) and
  ``compare_models()``; and for reference the same with ``setup(n_jobs=1)``;
- caretflow: ``caretflow_side`` below, in a process that imported everything first, as the warm
  worker does: the engine's setup (n_jobs=1, single-threaded runtimes) and ``compare_fast`` on
  every core. To measure a real caretflow training job instead, change that one function.

The three runs of a repeat are interleaved, so noise from other load hits all of them alike.
Prints per run and per dataset: seconds (with the CPU seconds of the process tree, and the load
average before and after: other processes on the machine), the ratio baseline/caretflow (goal
>= 1.5) and, over the baseline's top 3 models, the largest |caretflow - baseline| of the sort
metric (goal <= 0.005).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
ENGINE = ROOT / "engine"
CASES = {
    "juice": ("classification", "Purchase", "Accuracy"),
    "bank": ("classification", "deposit", "Accuracy"),
    "insurance": ("regression", "charges", "R2"),
}


def load(dataset: str, sample: int | None, seed: int):
    import pandas as pd

    data = pd.read_csv(ROOT / "demo-data" / f"{dataset}.csv")
    if sample and sample < len(data):
        data = data.sample(sample, random_state=seed).reset_index(drop=True)
    return data


def tree_cpu() -> float:
    """CPU seconds of this process, its reaped children and its live descendants (loky workers)."""
    import psutil

    me = psutil.Process()
    t = me.cpu_times()
    total = t.user + t.system + t.children_user + t.children_system
    for child in me.children(recursive=True):
        try:
            c = child.cpu_times()
            total += c.user + c.system
        except psutil.NoSuchProcess:
            pass
    return total


def measured(fn) -> dict:
    """Run fn() -> board; wall and CPU seconds, and the load average around it (other processes)."""
    load = os.getloadavg()[0]
    cpu, start = tree_cpu(), time.perf_counter()
    board = fn()
    seconds, cpu = time.perf_counter() - start, tree_cpu() - cpu
    return {"seconds": seconds, "cpu_seconds": cpu, "load": [load, os.getloadavg()[0]], "board": board}


def baseline_side(dataset: str, folds: int, seed: int, sample: int | None, n_jobs: int) -> dict:
    """PyCaret as a user runs it: defaults, except no printing (verbose/html off)."""
    import pandas as pd  # noqa: F401

    task, target, _ = CASES[dataset]
    if task == "classification":
        from pycaret.classification import ClassificationExperiment as Experiment
    else:
        from pycaret.regression import RegressionExperiment as Experiment
    data = load(dataset, sample, seed)

    def run() -> list[list]:
        exp = Experiment()
        exp.setup(data, target=target, fold=folds, session_id=seed, n_jobs=n_jobs, verbose=False, html=False)
        exp.compare_models(verbose=False)
        return _board(exp.pull(), CASES[dataset][2])

    return measured(run)


def caretflow_side(dataset: str, folds: int, seed: int, sample: int | None) -> dict:
    """The engine's setup and compare_fast, imports done beforehand (as in the warm worker)."""
    from caretflow_engine.threads import set_thread_env

    set_thread_env(1)  # the engine's default n_jobs=1, before numpy & co. load
    from caretflow_engine.adapters.pycaret3 import CompareHooks, SupervisedSession
    from caretflow_engine.adapters.pycaret3.fast_compare import default_workers
    from caretflow_engine.worker import warm_imports

    warm_imports()
    task, target, sort = CASES[dataset]
    data = load(dataset, sample, seed)
    hooks = CompareHooks(lambda *_: None, lambda *_: None)

    def run() -> list[list]:
        session = SupervisedSession(task)
        session.setup(data, target, ignore_features=[], train_size=0.7, folds=folds, seed=seed, n_jobs=1)
        planned = session.plan([], [])
        _, board = session.compare(planned, session.resolve_sort(sort), hooks, workers=default_workers())
        return _board(board, sort)

    return measured(run)


def _board(board, sort: str) -> list[list]:
    return [[str(i), float(board.loc[i, sort])] for i in board.index]


def run_child(side: str, args: argparse.Namespace, dataset: str, n_jobs: int = -1) -> dict:
    """One measurement in a fresh process, cwd and TMPDIR a fresh temp dir (PyCaret writes logs.log
    into the cwd and its joblib cache into TMPDIR)."""
    cmd = [sys.executable, __file__, "--child", side, "--dataset", dataset, "--folds", str(args.folds), "--seed", str(args.seed), "--n-jobs", str(n_jobs)]
    if args.sample:
        cmd += ["--sample", str(args.sample)]
    with tempfile.TemporaryDirectory(prefix="compare-speed-") as cwd:
        # TMPDIR: PyCaret's default memory=True caches fitted transformers and estimators under
        # tempfile.gettempdir() across processes; a fresh one per run keeps earlier runs from
        # warming it (the n_jobs=1 baseline and caretflow fit identical estimators).
        env = {**os.environ, "PYTHONPATH": str(ENGINE), "TMPDIR": cwd}
        out = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True)
    if out.returncode != 0:
        raise RuntimeError(f"{side} on {dataset} failed:\n{out.stderr[-3000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def top3_diff(ours: list[list], theirs: list[list]) -> tuple[float, bool]:
    """Largest |ours - theirs| of the sort metric over the baseline's top 3, and same top-3 ids."""
    mine = dict((m, v) for m, v in ours)
    diffs = [abs(mine[m] - v) if m in mine else float("inf") for m, v in theirs[:3]]
    return max(diffs), [m for m, _ in ours[:3]] == [m for m, _ in theirs[:3]]


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--dataset", nargs="+", choices=list(CASES), default=["juice", "insurance", "bank"])
    p.add_argument("--repeat", type=int, default=1)
    p.add_argument("--folds", type=int, default=10)
    p.add_argument("--seed", type=int, default=123)
    p.add_argument("--sample", type=int, help="use this many rows (sampled with the seed) instead of all")
    p.add_argument("--json", help="append every measurement as a JSON line to this file")
    p.add_argument("--child", choices=["baseline", "caretflow"], help=argparse.SUPPRESS)
    p.add_argument("--n-jobs", type=int, default=-1, help=argparse.SUPPRESS)
    a = p.parse_args()
    if a.child:
        dataset = a.dataset[0]
        if a.child == "baseline":
            result = baseline_side(dataset, a.folds, a.seed, a.sample, a.n_jobs)
        else:
            result = caretflow_side(dataset, a.folds, a.seed, a.sample)
        print(json.dumps(result))
        return

    print(f"cores: {os.cpu_count()}, folds: {a.folds}, seed: {a.seed}" + (f", sample: {a.sample} rows" if a.sample else ""))
    for dataset in a.dataset:
        ratios: dict[str, list[float]] = {"n_jobs=-1": [], "n_jobs=1": []}
        for r in range(a.repeat):
            # Interleaved, the order rotated per repeat: no side always runs first or last.
            runs = [("baseline", -1), ("caretflow", 0), ("baseline", 1)]
            runs = runs[r % 3 :] + runs[: r % 3]
            got = {}
            for side, n_jobs in runs:
                got[(side, n_jobs)] = run_child(side, a, dataset, n_jobs)
                if a.json:
                    with open(a.json, "a") as f:
                        f.write(json.dumps({"dataset": dataset, "repeat": r, "side": side, "n_jobs": n_jobs, **got[(side, n_jobs)]}) + "\n")
            cf = got[("caretflow", 0)]
            line = [f"{dataset} #{r + 1}: caretflow {_time(cf)} top3 {_fmt(cf['board'])}"]
            for n_jobs in (-1, 1):
                base = got[("baseline", n_jobs)]
                ratio = base["seconds"] / cf["seconds"]
                ratios[f"n_jobs={n_jobs}"].append(ratio)
                diff, same = top3_diff(cf["board"], base["board"])
                line.append(
                    f"  PyCaret n_jobs={n_jobs:>2}: {_time(base)} top3 {_fmt(base['board'])} -> "
                    f"ratio {ratio:.2f}, top-3 max diff {diff:.4f}, same top 3: {same}"
                )
            print("\n".join(line), flush=True)
        for key, values in ratios.items():
            print(f"{dataset}: ratio vs PyCaret {key}: median {statistics.median(values):.2f} (min {min(values):.2f}, max {max(values):.2f}, n={len(values)})")


def _time(run: dict) -> str:
    return f"{run['seconds']:.1f}s (cpu {run['cpu_seconds']:.1f}s, load {run['load'][0]:.1f}-{run['load'][1]:.1f})"


def _fmt(board: list[list]) -> str:
    return ", ".join(f"{m} {v:.4f}" for m, v in board[:3])


if __name__ == "__main__":
    main()
