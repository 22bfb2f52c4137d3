"""Entry points: `python -m caretflow_engine run|worker|serve` (cwd = engine/).

Thread env vars must be set before numpy/lightgbm load, so heavy modules are imported only after
the arguments (and, for `run`, the spec's n_jobs) are known.
"""

from __future__ import annotations

import argparse
import json
import sys

from .threads import set_thread_env


def _spec_threads(path: str) -> int:
    """n_jobs from the spec file, read without validation (validation happens inside the job)."""
    try:
        with open(path) as fh:
            value = json.load(fh).get("n_jobs", 1)
        return value if isinstance(value, int) and value > 0 else 1
    except Exception:  # the job itself reports an unreadable spec as an error event
        return 1


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m caretflow_engine", description="caretflow's PyCaret/MLflow engine")
    sub = parser.add_subparsers(dest="command", required=True)
    run = sub.add_parser("run", help="run one job cold; events go to --events-fd")
    run.add_argument("--spec", required=True, help="job spec JSON file")
    run.add_argument("--events-fd", type=int, required=True, help="file descriptor for NDJSON events")
    worker = sub.add_parser("worker", help="warm worker: control JSON lines on fd 3, output on fd 4")
    worker.add_argument("--threads", type=int, default=1, help="thread count until a job sets its own n_jobs")
    serve = sub.add_parser("serve", help="warm scoring process: JSON lines on fd 3 in, fd 4 out")
    serve.add_argument("--threads", type=int, default=1)
    sub.add_parser("catalog", help="print the engine's catalog (tasks, fields, models, metrics, plots) as JSON")
    args = parser.parse_args(argv)

    from .tracking import configure_mlflow_env

    configure_mlflow_env()
    if args.command == "run":
        set_thread_env(_spec_threads(args.spec))
        from . import cancel
        from .runner import execute
        from .spec import read_spec_file

        token = cancel.CancelToken()
        cancel.install(token)
        try:
            raw: object = read_spec_file(args.spec)
        except Exception as exc:  # reported through the protocol by execute()
            raw = exc
        return execute(raw, args.events_fd, token)
    if args.command == "worker":
        set_thread_env(max(1, args.threads))
        from .worker import serve_forever

        return serve_forever(control_fd=3, out_fd=4)
    if args.command == "catalog":
        set_thread_env(1)
        from .events import dumps_line
        from .tasks.catalog import build_catalog

        sys.stdout.buffer.write(dumps_line(build_catalog()))
        return 0
    if args.command == "serve":
        set_thread_env(max(1, args.threads))
        from .serve import serve_forever as serve_scoring

        return serve_scoring(in_fd=3, out_fd=4)
    parser.error(f"unknown command {args.command}")
    return 2


if __name__ == "__main__":
    sys.exit(main())
