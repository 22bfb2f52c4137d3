"""Chart data for clustering and anomaly detection plots (elbow, silhouette, 2-D scatter, cluster
sizes, anomaly score distribution), computed with numpy and scikit-learn.

``X`` is the numeric matrix the model saw (after the preprocessing pipeline) or a DataFrame whose
numeric columns are used; cluster labels can be ints or strings ("Cluster 0") and are drawn in
natural order (Cluster 2 before Cluster 10).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

import numpy as np
from sklearn.decomposition import PCA
from sklearn.metrics import silhouette_samples

from ..errors import user_error
from .charts import MAX_POINTS, downsample_indices, fmt, series, xy_chart
from .eval_charts import not_drawable

ArrayLike = Sequence[Any] | np.ndarray


def natural_key(value: Any) -> tuple[Any, ...]:
    """Sort key: numbers by value, then text with its digit runs compared as numbers."""
    if isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, bool):
        return (0, float(value))
    parts = re.split(r"(\d+)", str(value))
    return (1, *[(0, int(part), "") if part.isdigit() else (1, 0, part) for part in parts if part])


def suggest_k(ks: ArrayLike, inertias: ArrayLike) -> int | None:
    """The elbow of a decreasing inertia curve, by the maximum-distance-to-chord rule.

    Both axes are scaled to [0, 1]; the chord joins the first and the last point; the elbow is the
    point farthest below the chord, which is the knee that the Kneedle method (Satopää et al.,
    2011) finds before its smoothing and threshold steps. None when there are fewer than three
    points, the curve does not decrease overall, or no point lies below the chord (no elbow).
    """
    pairs = sorted((float(k), float(v)) for k, v in zip(ks, inertias) if np.isfinite(float(v)))
    if len(pairs) < 3:
        return None
    x = np.array([p[0] for p in pairs])
    y = np.array([p[1] for p in pairs])
    if y[0] <= y[-1] or x[-1] == x[0]:
        return None
    xn = (x - x[0]) / (x[-1] - x[0])
    yn = (y - y[-1]) / (y[0] - y[-1])
    below = (1.0 - xn) - yn  # chord from (0, 1) to (1, 0) is y = 1 - x; proportional to the distance
    best = int(np.argmax(below))
    return int(x[best]) if below[best] > 1e-12 else None


def elbow_ks(rows: int, largest: int = 10) -> list[int]:
    """The cluster counts an elbow curve tries: 2 to min(largest, rows - 1) (k = rows is trivial)."""
    return list(range(2, min(largest, rows - 1) + 1))


def kmeans_inertias(X: Any, ks: Sequence[int], seed: int, max_rows: int = 20_000, n_init: int = 3) -> list[float]:
    """K-means inertia (within-cluster sum of squares) for each k, the curve ``suggest_k`` reads.

    Above ``max_rows`` rows a seeded random sample is used: the elbow's position depends on the
    shape of the data, not its size, and nine k-means fits on millions of rows would dominate the job.
    """
    from sklearn.cluster import KMeans

    matrix = numeric_matrix(X, "elbow plot")
    if len(matrix) > max_rows:
        matrix = matrix[np.sort(np.random.default_rng(seed).choice(len(matrix), max_rows, replace=False))]
    return [float(KMeans(n_clusters=k, random_state=seed, n_init=n_init).fit(matrix).inertia_) for k in ks]


def elbow_chart(ks: ArrayLike, inertias: ArrayLike, metric_label: str = "Distortion (inertia)") -> dict[str, Any]:
    """Inertia against the number of clusters, with the suggested k (``suggest_k``) marked."""
    pairs = sorted((int(k), float(v)) for k, v in zip(ks, inertias))
    out = [series(metric_label, "line", pairs)]
    k = suggest_k([p[0] for p in pairs], [p[1] for p in pairs])
    if k is None:
        note = "no clear elbow (maximum distance to the chord)"
    else:
        out.append(series(f"suggested k = {k}", "point", [[k, dict(pairs)[k]]]))
        note = f"suggested k = {k} (maximum distance to the chord from k={pairs[0][0]} to k={pairs[-1][0]})"
    return xy_chart("elbow", "Elbow", "Number of clusters (k)", metric_label, out, note=note)


def numeric_matrix(X: Any, plot: str) -> np.ndarray:
    """A float matrix from an array or the numeric columns of a DataFrame; refuses missing values."""
    if hasattr(X, "select_dtypes"):
        X = X.select_dtypes(include=["number", "bool"])
        if X.shape[1] == 0:
            raise not_drawable(plot, "the data has no numeric column", "Plot the transformed (numeric) data.")
    matrix = np.asarray(X, dtype=float)
    if matrix.ndim != 2 or matrix.shape[0] == 0:
        raise not_drawable(plot, f"expected a non-empty 2-D matrix, got shape {matrix.shape}", "Pass rows × features.")
    bad = ~np.isfinite(matrix)
    if bad.any():
        rows = np.nonzero(bad.any(axis=1))[0]
        raise not_drawable(plot, f"{len(rows)} rows have missing or infinite values (first: row {rows[0]})",
                           "Impute or drop missing values before plotting.")
    return matrix


def _projection(X: Any, scale: bool, plot: str) -> tuple[np.ndarray, str]:
    """The rows on two PCA components (standardised first when ``scale``) and a note on them."""
    matrix = numeric_matrix(X, plot)
    if scale:
        std = matrix.std(axis=0)
        matrix = (matrix - matrix.mean(axis=0)) / np.where(std > 0, std, 1.0)
    components = min(2, matrix.shape[1], matrix.shape[0])
    pca = PCA(n_components=components, svd_solver="full")
    points = pca.fit_transform(matrix)
    if components < 2:
        points = np.column_stack([points, np.zeros((len(points), 2 - components))])
    shares = ", ".join(f"{fmt(100 * r, 1)}%" for r in pca.explained_variance_ratio_)
    return points, f"PCA of {matrix.shape[1]} features{' (standardised)' if scale else ''}: variance explained {shares}"


def _groups(labels: ArrayLike) -> list[tuple[Any, np.ndarray]]:
    values = np.asarray(labels, dtype=object)
    distinct = sorted(set(values.tolist()), key=natural_key)
    return [(c, np.nonzero(values == c)[0]) for c in distinct]


def _budget(size: int, total: int, max_points: int) -> int:
    """Points one group may keep so all groups together hold about ``max_points``."""
    return max(4, min(max_points, round(max_points * size / max(total, 1))))


def cluster_scatter_chart(
    X: Any, labels: ArrayLike, scale: bool = True, max_points: int = MAX_POINTS
) -> dict[str, Any]:
    """Rows projected on two PCA components, one point series per cluster, about ``max_points``
    points in all (each cluster keeps its share, evenly spaced, plus its extremes)."""
    points, note = _projection(X, scale, "cluster scatter")
    groups = _groups(labels)
    if len(points) != sum(len(idx) for _, idx in groups):
        raise ValueError("X and labels differ in length")
    out = []
    for c, idx in groups:
        pts = points[idx]
        keep = downsample_indices(pts, _budget(len(idx), len(points), max_points), "stride")
        out.append(series(str(c), "point", pts[keep]))
    return xy_chart("cluster", "Clusters (PCA)", "Component 1", "Component 2", out, note=note)


def silhouette_chart(X: Any, labels: ArrayLike, metric: str = "euclidean", sample_size: int = 5000,
                     seed: int = 0, max_points: int = MAX_POINTS) -> dict[str, Any]:
    """Silhouette values per row, sorted within each cluster, one area series per cluster laid side
    by side, and the mean as a line.

    Silhouettes cost O(n²) distances, so above ``sample_size`` rows a seeded random sample is used
    (the note says so). Each cluster's sorted curve is down-sampled to its share of ``max_points``.
    """
    matrix = numeric_matrix(X, "silhouette plot")
    values = np.asarray(labels, dtype=object)
    if len(values) != len(matrix):
        raise ValueError("X and labels differ in length")
    note_sample = ""
    if len(matrix) > sample_size:
        rows = np.sort(np.random.default_rng(seed).choice(len(matrix), sample_size, replace=False))
        note_sample = f" (on a random sample of {sample_size} of {len(matrix)} rows)"
        matrix, values = matrix[rows], values[rows]
    groups = _groups(values)
    if not 2 <= len(groups) <= len(matrix) - 1:
        raise not_drawable("silhouette plot", f"it needs 2 to n−1 clusters; the rows form {len(groups)}",
                           "Train with at least two clusters.")
    codes = np.empty(len(values), dtype=int)
    for code, (_, idx) in enumerate(groups):
        codes[idx] = code
    sil = silhouette_samples(matrix, codes, metric=metric)
    out, start = [], 0
    for c, idx in groups:
        curve = np.sort(sil[idx])[::-1]
        pts = np.column_stack([np.arange(start, start + len(curve)), curve])
        keep = downsample_indices(pts, _budget(len(curve), len(sil), max_points), "minmax")
        out.append(series(f"{c} (mean {fmt(curve.mean())})", "area", pts[keep]))
        start += len(curve)
    mean = float(sil.mean())
    out.append(series(f"mean {fmt(mean)}", "line", [[0, mean], [start - 1, mean]]))
    return xy_chart("silhouette", "Silhouette", "Rows (sorted within each cluster)", "Silhouette value", out,
                    note=f"mean silhouette {fmt(mean)}{note_sample}")


def cluster_distribution_chart(labels: ArrayLike) -> dict[str, Any]:
    """Number of rows per cluster, as bars in natural cluster order."""
    groups = _groups(labels)
    total = sum(len(idx) for _, idx in groups)
    return xy_chart("distribution", "Cluster sizes", "Cluster", "Rows",
                    [series("rows", "bar", [[str(c), len(idx)] for c, idx in groups])], x_scale="category",
                    note=f"{len(groups)} clusters, {total} rows")


def _flags(is_anomaly: ArrayLike, n: int) -> np.ndarray:
    flags = np.asarray(is_anomaly).astype(bool)
    if flags.shape != (n,):
        raise ValueError(f"is_anomaly has shape {flags.shape}; expected ({n},)")
    return flags


def anomaly_score_chart(scores: ArrayLike, threshold: float | None = None, is_anomaly: ArrayLike | None = None,
                        bins: int = 50) -> dict[str, Any]:
    """Histogram of anomaly scores (bars at bin centres; split into normal and anomaly rows when
    ``is_anomaly`` is given) with the decision threshold as a vertical line."""
    s = np.asarray(scores, dtype=float)
    finite = np.isfinite(s)
    if not finite.any():
        raise user_error("ChartNotDrawable", "The anomaly score plot cannot be drawn: no finite score.",
                         "Check that the model produced anomaly scores.")
    edges = np.histogram_bin_edges(s[finite], bins=bins)
    centres = (edges[:-1] + edges[1:]) / 2
    parts = [("rows", finite)]
    if is_anomaly is not None:
        flags = _flags(is_anomaly, len(s))
        parts = [("normal", finite & ~flags), ("anomaly", finite & flags)]
    out, top = [], 0
    for name, mask in parts:
        counts, _ = np.histogram(s[mask], bins=edges)
        top = max(top, int(counts.max()) if counts.size else 0)
        out.append(series(name, "bar", np.column_stack([centres, counts])))
    note = f"{int(finite.sum())} rows"
    if threshold is not None and np.isfinite(threshold):
        out.append(series(f"threshold {fmt(threshold)}", "line", [[threshold, 0], [threshold, top]]))
        flagged = int((s[finite] > threshold).sum()) if is_anomaly is None else int(flags.sum())
        share = fmt(100 * flagged / finite.sum(), 1)
        note = f"threshold {fmt(threshold)}: {flagged} of {int(finite.sum())} rows flagged ({share}%)"
    return xy_chart("anomaly_scores", "Anomaly score distribution", "Anomaly score", "Rows", out, note=note)


def anomaly_scatter_chart(
    X: Any, is_anomaly: ArrayLike, scale: bool = True, max_points: int = MAX_POINTS
) -> dict[str, Any]:
    """Rows on two PCA components, normal and anomalous rows as two point series (each at most
    ``max_points``, evenly spaced plus extremes, so rare anomalies are all kept)."""
    points, note = _projection(X, scale, "anomaly scatter")
    flags = _flags(is_anomaly, len(points))
    out = [series(name, "point", points[mask], max_points) for name, mask in (("normal", ~flags), ("anomaly", flags))]
    return xy_chart("anomaly", "Anomalies (PCA)", "Component 1", "Component 2", out,
                    note=f"{int(flags.sum())} of {len(flags)} rows flagged; {note}")
