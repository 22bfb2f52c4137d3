"""Scoring with mined association rules (``RulesModel``) and their charts.

The model is plain Python and pandas, so a scoring process unpickles it without mlxtend or scipy,
and its answers do not depend on the mining library's version.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import replace
from typing import Any

import numpy as np
import pandas as pd

from .arules import JOIN, BasketLayout, RulesResult, items_text, read_baskets
from .charts import fmt, series, xy_chart

RECOMMENDATIONS = "recommendations"
RECOMMENDATION_LIFT = "recommendation_lift"
RULES_MATCHED = "rules_matched"


class RulesModel:
    """Recommends items for baskets from association rules.

    A rule *fires* for a basket when all its antecedents are in the basket and none of its
    consequents is (the rule would only repeat what the basket holds). The consequent items of the
    fired rules are the recommendations; an item suggested by several rules keeps its best rule.
    Items are ranked by that rule's lift, then confidence, then support, then the rule's text, so
    the order is deterministic. Basket items are trimmed strings, as in mining.
    """

    def __init__(self, rules: pd.DataFrame, layout: BasketLayout) -> None:
        ordered = rules.sort_values(["lift", "confidence", "support"], ascending=False, kind="mergesort")
        self.layout = layout
        self.antecedents: list[tuple[str, ...]] = [tuple(a) for a in ordered["antecedents"]]
        self.consequents: list[tuple[str, ...]] = [tuple(c) for c in ordered["consequents"]]
        self.lift: list[float] = [float(v) for v in ordered["lift"]]
        self.confidence: list[float] = [float(v) for v in ordered["confidence"]]
        self.support: list[float] = [float(v) for v in ordered["support"]]
        self._by_item: dict[str, list[int]] = {}
        for r, antecedent in enumerate(self.antecedents):
            for item in antecedent:
                self._by_item.setdefault(item, []).append(r)

    @classmethod
    def from_result(cls, result: RulesResult) -> RulesModel:
        return cls(result.rules, result.layout)

    def __len__(self) -> int:
        return len(self.antecedents)

    def fired(self, basket: Iterable[str]) -> list[int]:
        """Indices of the rules that fire for ``basket``, best first."""
        items = {str(i).strip() for i in basket if i is not None}
        hits = Counter(r for item in items for r in self._by_item.get(item, ()))
        return sorted(
            r for r, count in hits.items()
            if count == len(self.antecedents[r]) and not any(c in items for c in self.consequents[r])
        )

    def recommend(self, baskets: Iterable[Iterable[str]], top_n: int = 5) -> list[list[dict[str, Any]]]:
        """For each basket, up to ``top_n`` recommendations, best first, each
        ``{"item", "lift", "confidence", "support", "antecedents", "consequents"}`` where the last
        two describe the rule that fired (lists of str)."""
        return [self._recommend(basket, top_n)[0] for basket in baskets]

    def _recommend(self, basket: Iterable[str], top_n: int) -> tuple[list[dict[str, Any]], int]:
        fired = self.fired(basket)
        out: list[dict[str, Any]] = []
        seen: set[str] = set()
        for r in fired:
            for item in self.consequents[r]:
                if item in seen or len(out) >= top_n:
                    continue
                seen.add(item)
                out.append({"item": item, "lift": self.lift[r], "confidence": self.confidence[r],
                            "support": self.support[r], "antecedents": list(self.antecedents[r]),
                            "consequents": list(self.consequents[r])})
            if len(out) >= top_n:
                break
        return out, len(fired)

    def predict(self, X: pd.DataFrame) -> pd.DataFrame:
        """``score_frame`` in the training layout: MLflow's python_function flavor calls ``predict``."""
        return self.score_frame(X)

    def score_frame(self, df: pd.DataFrame, top_n: int = 5, basket_column: str | None = None,
                    transaction_column: str | None = None, item_column: str | None = None,
                    separator: str | None = None) -> pd.DataFrame:
        """Recommendations for the baskets in ``df``, in the training layout unless columns are given.

        Returns one row per basket with three columns added:

        - ``recommendations`` (str or None): the recommended items as a JSON array (``items_text``),
          best first; None when no rule fires;
        - ``recommendation_lift`` (nullable Float64): the lift of the best recommendation's rule;
        - ``rules_matched`` (int64): how many rules fired.

        Basket layout: the rows of ``df`` (same index, all columns kept; same-named columns
        replaced). Transactions layout: one row per transaction id in order of first appearance,
        with the transaction column first; rows without an id are left out.
        """
        layout = self.layout
        if basket_column:
            layout = BasketLayout("basket", basket_column=basket_column, separator=separator or layout.separator)
        elif transaction_column or item_column:
            layout = BasketLayout("transactions", transaction_column or layout.transaction_column,
                                  item_column or layout.item_column)
        elif separator:
            layout = replace(layout, separator=separator)
        baskets = read_baskets(df, layout)
        members: list[list[str]] = [[] for _ in range(len(baskets.keys))]
        for b, item in zip(baskets.basket.tolist(), baskets.item.tolist()):
            members[b].append(item)
        texts, lifts, matched = [], [], []
        for items in members:
            recs, fired = self._recommend(items, top_n)
            texts.append(items_text(r["item"] for r in recs) if recs else None)
            lifts.append(recs[0]["lift"] if recs else None)
            matched.append(fired)
        added = {RECOMMENDATIONS: pd.Series(texts, dtype=object),
                 RECOMMENDATION_LIFT: pd.array(lifts, dtype="Float64"),
                 RULES_MATCHED: np.asarray(matched, dtype=np.int64)}
        if layout.layout == "basket":
            out = df.copy()
            for name, values in added.items():
                out[name] = values.values if isinstance(values, pd.Series) else values
            return out
        keys = pd.Series(baskets.keys, name=layout.transaction_column)
        return pd.DataFrame({layout.transaction_column: keys, **{k: pd.Series(v) for k, v in added.items()}})


LIFT_BUCKETS = ((0.0, 1.0), (1.0, 2.0), (2.0, 5.0), (5.0, 10.0), (10.0, float("inf")))


def rules_charts(result: RulesResult, top_n: int = 20) -> list[dict[str, Any]]:
    """Two charts: support vs confidence of every rule, one point series per lift bucket (fixed
    buckets, so runs compare), and the ``top_n`` rules by lift as bars."""
    rules = result.rules
    scatter = []
    for low, high in LIFT_BUCKETS:
        mask = (rules["lift"] >= low) & (rules["lift"] < high)
        if mask.any():
            name = f"lift ≥ {low:g}" if high == float("inf") else f"lift {low:g}–{high:g}"
            points = np.column_stack([rules.loc[mask, "support"], rules.loc[mask, "confidence"]])
            scatter.append(series(f"{name} ({int(mask.sum())} rules)", "point", points))
    top = rules.head(top_n)
    labels = [f"{JOIN.join(a)} → {JOIN.join(c)}" for a, c in zip(top["antecedents"], top["consequents"])]
    bars = series("lift", "bar", [[label, lift] for label, lift in zip(labels, top["lift"])])
    p = result.params
    note = (f"{len(rules)} rules from {result.n_transactions} transactions (support ≥ {p.get('min_support')}, "
            f"confidence ≥ {p.get('min_confidence')}, lift ≥ {p.get('min_lift')})")
    best = f"best lift {fmt(float(rules['lift'].iloc[0]), 2)}" if len(rules) else "no rules"
    return [
        xy_chart("rules_scatter", "Rules: support vs confidence", "Support", "Confidence", scatter, note=note),
        xy_chart("rules_top", f"Top {len(top)} rules by lift", "Rule", "Lift", [bars], x_scale="category",
                 note=best),
    ]

