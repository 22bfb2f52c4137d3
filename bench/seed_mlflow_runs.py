"""Seeds finished parent runs straight into an MLflow SQLite store (MLflow's own tables, through its ORM
models), for bench/runs-list.ts: thousands of runs in seconds, where the REST API takes half an hour.

    engine/.venv/bin/python bench/seed_mlflow_runs.py DB_PATH EXPERIMENT_ID ARTIFACT_ROOT N
"""

from __future__ import annotations

import sys
import uuid

from mlflow.store.tracking.dbmodels.models import SqlLatestMetric, SqlMetric, SqlParam, SqlRun, SqlTag
from sqlalchemy import create_engine, insert


def main() -> None:
    db_path, experiment_id, artifact_root, n = sys.argv[1], int(sys.argv[2]), sys.argv[3], int(sys.argv[4])
    runs, metrics, params, tags = [], [], [], []
    base = 1767225600000  # 2026-01-01T00:00:00Z
    for i in range(n):
        run_id = uuid.uuid4().hex
        start = base + i * 60_000
        name = f"bench-{i}"
        runs.append({
            "run_uuid": run_id, "name": name, "source_type": "LOCAL", "source_name": "", "entry_point_name": "",
            "user_id": "bench", "status": "FINISHED", "start_time": start, "end_time": start + 30_000,
            "source_version": "", "lifecycle_stage": "active",
            "artifact_uri": f"{artifact_root}/{experiment_id}/{run_id}/artifacts", "experiment_id": experiment_id,
        })
        for key, value in (("AUC", ((i * 7919) % 1000) / 1000), ("Accuracy", ((i * 104729) % 1000) / 1000)):
            metrics.append({"key": key, "value": value, "timestamp": start, "step": 0, "is_nan": False, "run_uuid": run_id})
        for key, value in (("model", ["lr", "dt", "ridge"][i % 3]), ("fold", str(3 + i % 5))):
            params.append({"key": key, "value": value, "run_uuid": run_id})
        for key, value in (
            ("caretflow.role", "parent"),
            ("caretflow.task", "classification" if i % 2 else "regression"),
            ("caretflow.dataset", f"bench@v{1 + i % 3}"),
            ("mlflow.runName", name),
        ):
            tags.append({"key": key, "value": value, "run_uuid": run_id})
    engine = create_engine(f"sqlite:///{db_path}")
    with engine.begin() as conn:
        conn.execute(insert(SqlRun.__table__), runs)
        conn.execute(insert(SqlMetric.__table__), metrics)
        conn.execute(insert(SqlLatestMetric.__table__), metrics)
        conn.execute(insert(SqlParam.__table__), params)
        conn.execute(insert(SqlTag.__table__), tags)


if __name__ == "__main__":
    main()
