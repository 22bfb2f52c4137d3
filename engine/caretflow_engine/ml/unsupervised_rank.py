"""Ranking unsupervised models without ground truth: caretflow's own comparison.

PyCaret 3 has no ``compare_models`` for clustering or anomaly detection, so caretflow trains each
model and ranks the results here. Clustering ranks by one of PyCaret's internal metrics
(Silhouette, Calinski-Harabasz, Davies-Bouldin), each in its own direction.

Anomaly detectors have no metric without labels, and the share of rows they flag says nothing
(each detector flags the contamination ``fraction`` by construction). What can be measured is
agreement: ``consensus`` is the Spearman correlation of a detector's anomaly scores with the
average score ranks of the *other* detectors in the comparison. Detectors that find the outliers
most others find rank first; a detector that ranks rows idiosyncratically ranks last. It is the
consensus heuristic of unsupervised outlier-model selection: it rewards agreement, not truth, so
the comparison is only as good as the set of detectors compared (at least three are needed for
the ranking to say something; with two, both get the same value).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

CONSENSUS = "Consensus"
ANOMALY_SHARE = "Anomaly share"


def rank_rows(rows: list[dict[str, Any]], sort: str, greater_is_better: bool) -> list[dict[str, Any]]:
    """Rows ordered best first by ``metrics[sort]`` (ties keep their order; missing values last),
    each with its 1-based ``rank``."""

    def key(item: tuple[int, dict[str, Any]]) -> tuple[int, float, int]:
        position, row = item
        value = row["metrics"].get(sort)
        if value is None or not np.isfinite(value):
            return (1, 0.0, position)
        return (0, -value if greater_is_better else value, position)

    ordered = [row for _, row in sorted(enumerate(rows), key=key)]
    return [{**row, "rank": i} for i, row in enumerate(ordered, start=1)]


def _score_ranks(scores: np.ndarray) -> np.ndarray:
    """Percentile ranks of the scores (higher = more anomalous); missing scores sit in the middle."""
    ranks = pd.Series(np.asarray(scores, dtype=float)).replace([np.inf, -np.inf], np.nan).rank(pct=True)
    return ranks.fillna(0.5).to_numpy()


def consensus(scores: Mapping[str, Any]) -> dict[str, float | None]:
    """Each detector's Spearman correlation with the mean score rank of the other detectors.

    ``scores``: detector id -> anomaly scores of the same rows (higher = more anomalous). None for
    a detector when there is no other detector, or when its ranks or the others' are constant.
    """
    ranks = {k: _score_ranks(v) for k, v in scores.items()}
    lengths = {len(r) for r in ranks.values()}
    if len(lengths) > 1:
        raise ValueError(f"score vectors differ in length: {sorted(lengths)}")
    out: dict[str, float | None] = {}
    for name, own in ranks.items():
        others = [r for k, r in ranks.items() if k != name]
        if not others:
            out[name] = None
            continue
        mean = np.mean(others, axis=0)
        if np.std(own) == 0 or np.std(mean) == 0:
            out[name] = None
            continue
        # Spearman = Pearson on ranks; ``mean`` is an average of ranks, so rank it once more.
        out[name] = float(np.corrcoef(own, pd.Series(mean).rank(pct=True).to_numpy())[0, 1])
    return out
