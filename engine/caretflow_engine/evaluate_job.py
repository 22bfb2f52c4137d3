"""kind=evaluate: explain a model after its training or operation job, without holding it up.

The family's own evaluation (supervised: chart data, PyCaret's plots, SHAP, partial dependence,
permutation importance, learning curve) is logged to the model's run, then the HTML report is
built from that run, its parent and siblings in MLflow, and the dataset, for every family.
"""

from __future__ import annotations

import json
import tempfile
import time
from pathlib import Path
from typing import Any

from .context import JobContext
from .data import read_dataset
from .experiment_log import TrainingLog
from .report import REPORT_PATH, build_report
from .tasks import family_for
from .tracking import dataset_label, metric_key


def run_evaluate(spec: dict[str, Any], ctx: JobContext) -> dict[str, Any]:
    ev = ctx.events
    fields, run_id = spec["train"], spec["run_id"]
    task = fields["task"]
    timings: dict[str, float] = {}
    t0 = time.monotonic()
    log = TrainingLog(spec, ctx, task)
    log.adopt_parent(spec["parent_run_id"])
    ev.stage("loading", f"Reading dataset {dataset_label(spec['dataset'])}")
    df = read_dataset(spec["dataset"])

    with tempfile.TemporaryDirectory(prefix="caretflow-evaluate-") as tmp:
        work = Path(tmp)
        charts: list[dict[str, Any]] = []
        plots: list[tuple[str, Path]] = []
        evaluate = getattr(family_for(task), "evaluate", None)
        if evaluate is not None:
            produced = evaluate(spec, ctx, df, work)
            charts, plots = produced["charts"], produced["plots"]
            log.log_charts(run_id, charts)
            for name, path in plots:
                log.log_file(run_id, path, "plots", name, "plot")
        else:  # families that chart while training: the report draws what the run already holds
            charts, plots = _logged(log, run_id, work)
        timings["evaluate"] = time.monotonic() - t0

        t = time.monotonic()
        ev.stage("report", "Writing the HTML report")
        report = work / "report.html"
        report.write_text(_report_html(log, spec, df, charts, plots))
        log.log_file(run_id, report, "report", "report", "report")
        log.log_metrics(run_id, {}, tags={"caretflow.evaluation": "done"})
        log.drain()
        timings["report"] = time.monotonic() - t
    return {
        "kind": "evaluate",
        "run_id": run_id,
        "charts": [c["id"] for c in charts],
        "plots": [name for name, _ in plots],
        "report": REPORT_PATH,
        "timings": {k: round(v, 3) for k, v in timings.items()},
    }


def _logged(log: TrainingLog, run_id: str, work: Path) -> tuple[list[dict[str, Any]], list[tuple[str, Path]]]:
    charts, plots = [], []
    for folder in ("charts", "plots"):
        for item in log.client.list_artifacts(run_id, folder):
            if item.is_dir:
                continue
            local = Path(log.client.download_artifacts(run_id, item.path, str(work)))
            if folder == "charts" and local.suffix == ".json":
                charts.append(json.loads(local.read_text()))
            elif folder == "plots" and local.suffix == ".png":
                plots.append((local.stem.replace("_", " "), local))
    return charts, plots


def _report_html(log: TrainingLog, spec: dict[str, Any], df: Any, charts: list[dict[str, Any]], plots: list[tuple[str, Path]]) -> str:
    client, fields = log.client, spec["train"]
    run = client.get_run(spec["run_id"])
    parent = client.get_run(spec["parent_run_id"])
    children = client.search_runs(
        [parent.info.experiment_id],
        f"tags.mlflow.parentRunId = '{spec['parent_run_id']}' and tags.`caretflow.role` = 'child'",
        max_results=200,
    )
    sort = parent.data.params.get("sort")
    leaderboard = [
        {
            "model_id": c.data.tags.get("caretflow.model_id", ""),
            "model_name": c.data.tags.get("caretflow.model_name", c.info.run_name),
            "metrics": {k: v for k, v in c.data.metrics.items() if not k.endswith("_std") and not k.startswith("cv_fold_")},
        }
        for c in children
    ]
    if sort and leaderboard:
        key = metric_key(sort)
        values = [r["metrics"].get(key) for r in leaderboard]
        sign = -1 if _greater_is_better(fields["task"], key) else 1
        order = sorted(range(len(leaderboard)), key=lambda i: (values[i] is None, sign * (values[i] or 0)))
        leaderboard = [{**leaderboard[i], "rank": n + 1} for n, i in enumerate(order)]
    setup = {k.removeprefix("setup."): v for k, v in parent.data.params.items() if k.startswith("setup.")}
    setup.update({k: v for k, v in parent.data.params.items() if not k.startswith("setup.")})
    tags = run.data.tags
    title = f"{tags.get('caretflow.model_name', run.info.run_name)} · {fields['task']} · {dataset_label(spec['dataset'])}"
    facts = [
        ("task", fields["task"]),
        ("dataset", f"{dataset_label(spec['dataset'])} ({spec['dataset']['content_hash'][:12]}…)"),
        ("experiment", spec["experiment_name"]),
        ("model run", spec["run_id"]),
        ("training job", tags.get("caretflow.job_id", "")),
        ("libraries", ", ".join(f"{k.removeprefix('caretflow.version.')} {v}" for k, v in tags.items() if k.startswith("caretflow.version."))),
    ]
    return build_report(
        title=title,
        facts=facts,
        df=df,
        target=fields.get("target"),
        setup=setup,
        leaderboard=leaderboard,
        sort_metric=sort,
        model={"name": tags.get("caretflow.model_name", ""), "metrics": dict(run.data.metrics), "params": dict(run.data.params)},
        charts=charts,
        pngs=plots,
    )


def _greater_is_better(task: str, key: str) -> bool:
    """The metric's direction from PyCaret's own metric table (higher is better when unknown)."""
    if task not in ("classification", "regression", "clustering", "time_series"):
        return True
    from .adapters.pycaret3.probe import probe

    for m in probe(task).metrics:
        if metric_key(m["name"]) == key:
            return bool(m["greaterIsBetter"])
    return key != "TT_Sec"
