"""The association family: association rules (market basket analysis) with ``ml/arules.py``
(mlxtend's apriori candidate step) and ``ml/rules_model.py``. PyCaret 3 removed the arules module
PyCaret 2 had, so caretflow mines the rules itself, with the same runs, registration and scoring as
PyCaret's tasks.

kind=train mines frequent itemsets and the rules that meet the minimum support, confidence and
lift, writes them as the ``rules`` and ``itemsets`` outputs (stored as ``<dataset>-rules`` and
``<dataset>-itemsets``, items joined by " & ") and logs a ``RulesModel`` that recommends items for
baskets. Scoring reads baskets in the training layout: one answer row per transaction id
(transactions layout) or per input row (basket layout).
"""

from __future__ import annotations

import importlib.util
import time
from typing import TYPE_CHECKING, Any

from ..data import read_dataset
from ..datastore import write_output
from ..errors import user_error
from ..tracking import dataset_label
from .base import unsupported
from .fields import spec_fields
from .own_model import OwnModel, OwnModelRun, refuse_gpu

if TYPE_CHECKING:
    import pandas as pd

    from ..context import JobContext
    from ..ml.arules import BasketLayout
    from ..scoring import LoadedModel

TASK = "association_rules"
MODEL_ID, MODEL_NAME = "apriori", "Apriori"
TOP_RULES = 10
_FIELDS = [
    "layout", "transaction_column", "item_column", "basket_column", "separator",
    "min_support", "min_confidence", "min_lift", "max_len", "ignore_items",
]
_ADDED = ["recommendations", "recommendation_lift", "rules_matched"]


class AssociationFamily:
    family = "association"
    tasks = (TASK,)

    # ---------------------------------------------------------------- catalog
    def describe(self, task: str, probe: Any) -> dict[str, Any]:
        return {
            "task": task,
            "family": self.family,
            "label": "Association rules",
            "description": "Find items bought together: frequent itemsets and rules (A → B) by support, confidence "
                           "and lift.",
            "operations": [],
            "fields": spec_fields(task, _FIELDS),
            "models": [{
                "id": MODEL_ID,
                "name": MODEL_NAME,
                "reference": "mlxtend.frequent_patterns.apriori (low-memory candidate generation, sparse one-hot)",
                "installed": importlib.util.find_spec("mlxtend") is not None,
                "gpu": False,
                "turbo": True,
            }],
            "metrics": [
                {"id": "rules", "name": "Rules", "greaterIsBetter": True, "multiclass": True},
                {"id": "itemsets", "name": "Itemsets", "greaterIsBetter": True, "multiclass": True},
                {"id": "max_lift", "name": "Max lift", "greaterIsBetter": True, "multiclass": True},
            ],
            # Counts of rules are not a quality to rank by: nothing is compared.
            "defaultSort": None,
            "plots": [
                {"id": "rules_scatter", "name": "Rules: support vs confidence (by lift)", "chart": True},
                {"id": "rules_top", "name": "Top rules by lift", "chart": True},
            ],
            "predictionColumns": [
                {"name": "recommendations", "help": "items the rules recommend for the basket, best first, as a JSON "
                                                    "array (null when no rule fires)"},
                {"name": "recommendation_lift", "help": "lift of the best recommendation's rule"},
                {"name": "rules_matched", "help": "how many rules fired for the basket (transactions layout: one row "
                                                  "per transaction id, the id first)"},
            ],
        }

    # ------------------------------------------------------------------ train
    def train(self, spec: dict[str, Any], ctx: JobContext) -> dict[str, Any]:
        from ..ml.arules import itemsets_frame, layout_columns, mine_rules, rules_frame
        from ..ml.rules_model import RulesModel, rules_charts

        ev = ctx.events
        refuse_gpu(spec, TASK)
        timings: dict[str, float] = {}
        t0 = time.monotonic()
        ev.stage("loading", f"Reading dataset {dataset_label(spec['dataset'])}")
        df = read_dataset(spec["dataset"])
        if len(df) == 0:
            raise user_error("EmptyDataset", "The dataset has no rows.", "Import a dataset with data rows.")
        layout = layout_of(spec)
        columns = layout_columns(df, layout)
        unused = {"separator"} if layout.layout == "transactions" else {"transaction_column", "item_column"}
        params = {k: spec.get(k) for k in _FIELDS if k not in unused and spec.get(k) is not None}
        run = OwnModelRun(spec, ctx, TASK, df, {"caretflow.layout": layout.layout}, params)
        timings["loading"] = time.monotonic() - t0

        ev.stage("compare", f"Mining itemsets (support ≥ {spec['min_support']}) and rules")
        ev.progress(0, 1, "Mining frequent itemsets")
        t = time.monotonic()
        run.fit(MODEL_ID, MODEL_NAME)
        result = mine_rules(df, layout, spec["min_support"], spec["min_confidence"], spec["min_lift"],
                            max_len=spec["max_len"], ignore_items=spec["ignore_items"])
        model = RulesModel.from_result(result)
        timings["fit"] = time.monotonic() - t
        rules, itemsets = result.rules, result.itemsets
        ev.progress(1, 1, f"{len(itemsets)} itemsets, {len(rules)} rules")

        t = time.monotonic()
        ev.stage("writing", f"Writing {len(rules)} rules and {len(itemsets)} itemsets")
        rules_table, itemsets_table = rules_frame(result), itemsets_frame(result)
        outputs = [
            write_output(spec["job_id"], "rules", rules_table, list(rules_table.columns)),
            write_output(spec["job_id"], "itemsets", itemsets_table, list(itemsets_table.columns)),
        ]
        timings["writing"] = time.monotonic() - t

        details = {
            "task": TASK,
            "transactions": result.n_transactions,
            "items": result.n_items,
            "itemsets": len(itemsets),
            "rules": len(rules),
            "top_rules": [
                {"antecedents": list(r.antecedents), "consequents": list(r.consequents), "support": float(r.support),
                 "confidence": float(r.confidence), "lift": float(r.lift)}
                for r in rules.head(TOP_RULES).itertuples()
            ],
        }
        sample = _sample(df, columns)
        charts = rules_charts(result)
        fitted = OwnModel(
            model=model,
            model_id=MODEL_ID,
            model_name=MODEL_NAME,
            metrics={"Rules": len(rules), "Itemsets": len(itemsets), "Max lift": float(rules["lift"].max())},
            run_metrics={
                "transactions": result.n_transactions,
                "items": result.n_items,
                "mean_confidence": float(rules["confidence"].mean()),
                "mean_lift": float(rules["lift"].mean()),
                **{f"itemsets_of_{n}": int(c) for n, c in itemsets["length"].value_counts().sort_index().items()},
            },
            sample_in=sample,
            sample_out=_score(model, layout, sample),
            metadata={"caretflow_layout": layout.layout, "caretflow_columns": columns},
            details=details,
            plots={chart["id"]: [chart] for chart in charts},
            outputs=outputs,
        )
        out = run.finish(fitted, timings, None)
        out["timings"]["total"] = round(time.monotonic() - t0, 3)
        return out

    def operate(self, spec: dict[str, Any], ctx: JobContext) -> dict[str, Any]:
        raise unsupported(spec["train"]["task"], spec["operation"]["op"], [])

    # ---------------------------------------------------------------- scoring
    def prediction_columns(self, model: LoadedModel) -> list[str]:
        layout = model.pipeline.layout
        return [layout.transaction_column, *_ADDED] if layout.layout == "transactions" else list(_ADDED)

    def score(self, model: LoadedModel, df: pd.DataFrame, options: dict[str, Any]) -> pd.DataFrame:
        """Recommendations per basket: per transaction id (its first appearance's order) or per row."""
        from ..scoring import prepare_features

        return _score(model.pipeline, model.pipeline.layout, prepare_features(model, df))


def layout_of(spec: dict[str, Any]) -> BasketLayout:
    from ..ml.arules import BasketLayout

    return BasketLayout(spec["layout"], spec.get("transaction_column"), spec.get("item_column"),
                        spec.get("basket_column"), spec["separator"])


def _score(model: Any, layout: BasketLayout, features: pd.DataFrame) -> pd.DataFrame:
    scored = model.score_frame(features)
    # Basket layout: index-aligned with the input, so callers add only the new columns to their rows.
    return scored if layout.layout == "transactions" else scored[_ADDED]


def _sample(df: pd.DataFrame, columns: list[str]) -> pd.DataFrame:
    """A few complete rows of the layout's columns: the model's signature and input example."""
    complete = df.loc[df[columns].notna().all(axis=1), columns]
    return (complete if len(complete) else df[columns]).head(5).reset_index(drop=True)
