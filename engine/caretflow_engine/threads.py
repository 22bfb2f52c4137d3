"""Thread counts, set deliberately.

LightGBM (OpenMP) and OpenBLAS spin-wait on idle threads; with their defaults (one thread per
core) on a small machine they busy-wait against each other and against sklearn (PyCaret issue
4158). The engine therefore uses exactly the job's ``n_jobs`` everywhere:

- before heavy imports: OMP/OpenBLAS/MKL/NumExpr thread env vars (read once when those runtimes load);
- PyCaret ``setup(n_jobs=...)``, which PyCaret passes to every estimator (LightGBM's ``n_jobs``
  is its ``num_threads``);
- at run time (warm worker children, whose runtimes were loaded before the job's n_jobs was
  known): threadpoolctl limits the already-loaded OpenMP and BLAS pools.
"""

from __future__ import annotations

import os

THREAD_ENV_VARS = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMEXPR_NUM_THREADS")


def set_thread_env(n_jobs: int) -> None:
    """Call before importing numpy/lightgbm/sklearn."""
    for name in THREAD_ENV_VARS:
        os.environ[name] = str(n_jobs)
    # OpenMP threads that finish work go to sleep instead of spinning.
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    # Headless plotting for PyCaret's plot_model.
    os.environ.setdefault("MPLBACKEND", "Agg")


def limit_loaded_pools(n_jobs: int) -> object:
    """Limit OpenMP/BLAS pools that are already loaded; keep the returned object alive."""
    from threadpoolctl import threadpool_limits

    return threadpool_limits(limits=n_jobs)
