"""Drift statistics between a reference frame (the training data) and a current one, per column.

PSI (population stability index) is the symmetric Kullback-Leibler divergence of the two
distributions over bins: sum((p - q) * ln(p / q)) == KL(p || q) + KL(q || p), so it is computed with
scipy's ``rel_entr``. Numeric bins are the reference's quantiles (numpy's histogram counts them);
categorical bins are the reference's categories. Both get a ``missing`` bin, and categorical
features an ``other`` bin for values the reference never had. Numeric features also get scipy's
two-sample Kolmogorov-Smirnov test.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    import pandas as pd

# A bin one side never fills would make PSI infinite; its share is floored at this.
EPSILON = 1e-4
MAX_CATEGORIES = 20
MISSING = "missing"
OTHER = "other"


def psi(reference: np.ndarray, current: np.ndarray) -> float:
    """PSI of two vectors of bin shares (each summing to 1)."""
    from scipy.special import rel_entr

    p = np.clip(np.asarray(reference, dtype=float), EPSILON, None)
    q = np.clip(np.asarray(current, dtype=float), EPSILON, None)
    p, q = p / p.sum(), q / q.sum()
    return float(np.sum(rel_entr(q, p) + rel_entr(p, q)))


def _shares(counts: np.ndarray, total: int) -> np.ndarray:
    return counts / total if total else np.zeros_like(counts, dtype=float)


def numeric_bins(ref: pd.Series, cur: pd.Series, bins: int) -> tuple[list[str], np.ndarray, np.ndarray]:
    """Bin labels and the shares of each side, over the reference's quantile bins plus `missing`."""
    r, c = ref.dropna().to_numpy(dtype=float), cur.dropna().to_numpy(dtype=float)
    inner = np.unique(np.quantile(r, np.linspace(0, 1, bins + 1)[1:-1])) if len(r) else np.array([])
    edges = np.concatenate([[-np.inf], inner, [np.inf]])
    r_counts = np.histogram(r, edges)[0]
    c_counts = np.histogram(c, edges)[0]
    labels = [_range_label(lo, hi) for lo, hi in zip(edges[:-1], edges[1:], strict=True)] + [MISSING]
    r_counts = np.append(r_counts, ref.isna().sum())
    c_counts = np.append(c_counts, cur.isna().sum())
    return labels, _shares(r_counts, len(ref)), _shares(c_counts, len(cur))


def categorical_bins(ref: pd.Series, cur: pd.Series) -> tuple[list[str], np.ndarray, np.ndarray]:
    """The reference's categories (its most frequent MAX_CATEGORIES), `other` and `missing`, with each side's shares."""
    r, c = ref.dropna().astype(str), cur.dropna().astype(str)
    categories = list(r.value_counts().index[:MAX_CATEGORIES])
    r_counts = r.value_counts().reindex(categories, fill_value=0).to_numpy()
    c_counts = c.value_counts().reindex(categories, fill_value=0).to_numpy()
    r_counts = np.append(r_counts, [len(r) - r_counts.sum(), ref.isna().sum()])
    c_counts = np.append(c_counts, [len(c) - c_counts.sum(), cur.isna().sum()])
    return [*categories, OTHER, MISSING], _shares(r_counts, len(ref)), _shares(c_counts, len(cur))


def column_type(ref: pd.Series) -> str:
    import pandas as pd

    if pd.api.types.is_bool_dtype(ref):
        return "categorical"
    if pd.api.types.is_numeric_dtype(ref):
        return "numeric"
    if pd.api.types.is_datetime64_any_dtype(ref) or pd.api.types.is_timedelta64_dtype(ref):
        return "skipped"
    return "categorical"


def compare_column(
    ref: pd.Series, cur: pd.Series, role: str, thresholds: dict[str, float], bins: int
) -> dict[str, Any]:
    """One column's drift: PSI, the KS test for numeric ones, the bins, and the drift flag."""
    from scipy.stats import ks_2samp

    kind = column_type(ref)
    row: dict[str, Any] = {
        "column": str(ref.name),
        "role": role,
        "type": kind,
        "psi": None,
        "ks_statistic": None,
        "ks_p_value": None,
        "drifted": False,
        "reference_missing": _share(ref.isna().sum(), len(ref)),
        "current_missing": _share(cur.isna().sum(), len(cur)),
        "bins": [],
    }
    if kind == "skipped":
        row["note"] = f"{ref.dtype} columns are not compared"
        return row
    if kind == "numeric" and not _numeric_like(cur):
        row["type"] = "skipped"
        row["note"] = f"numeric in the reference but {cur.dtype} in the current sample"
        return row
    if kind == "numeric":
        labels, p, q = numeric_bins(ref, cur, bins)
        r, c = ref.dropna().to_numpy(dtype=float), cur.dropna().to_numpy(dtype=float)
        if len(r) and len(c):
            test = ks_2samp(r, c)
            row["ks_statistic"], row["ks_p_value"] = float(test.statistic), float(test.pvalue)
    else:
        labels, p, q = categorical_bins(ref, cur)
    row["psi"] = psi(p, q)
    row["bins"] = [{"label": lab, "reference": float(a), "current": float(b)} for lab, a, b in zip(labels, p, q, strict=True)]
    ks_drift = (
        row["ks_p_value"] is not None
        and row["ks_p_value"] < thresholds["ks_p_value"]
        and row["ks_statistic"] >= thresholds["ks_statistic"]
    )
    row["drifted"] = bool(row["psi"] >= thresholds["psi"] or ks_drift)
    return row


def compare_frames(
    reference: pd.DataFrame,
    current: pd.DataFrame,
    *,
    features: list[str] | None,
    prediction_columns: list[str],
    thresholds: dict[str, float],
    bins: int,
) -> list[dict[str, Any]]:
    """Every compared column's drift: the features (drifted first), then the prediction columns both sides have."""
    both = [str(c) for c in reference.columns if c in current.columns]
    predictions = [c for c in prediction_columns if c in both]
    chosen = features if features is not None else [c for c in both if c not in predictions]
    rows = [compare_column(reference[c], current[c], "feature", thresholds, bins) for c in chosen]
    rows.sort(key=lambda r: (not r["drifted"], -(r["psi"] or 0)))
    rows += [compare_column(reference[c], current[c], "prediction", thresholds, bins) for c in predictions]
    return rows


def _numeric_like(s: pd.Series) -> bool:
    import pandas as pd

    return (pd.api.types.is_numeric_dtype(s) and not pd.api.types.is_bool_dtype(s)) or s.isna().all()


def _share(n: int, total: int) -> float:
    return float(n / total) if total else 0.0


def _range_label(lo: float, hi: float) -> str:
    if np.isneginf(lo):
        return f"< {hi:.4g}"
    if np.isposinf(hi):
        return f">= {lo:.4g}"
    return f"[{lo:.4g}, {hi:.4g})"
