"""Search helpers, pure functions.

A time budget for hyperparameter searches that have none (PyCaret's scikit-learn random and grid
search): the search runs in chunks, each sized from the time the previous ones took, and no chunk
starts that cannot finish before the deadline. Here: how many candidates a grid holds, how to cut a
grid into sub-grids (each still a product of value lists, which is what a grid search takes)
without trying any candidate twice, and how big the next chunk may be.

The probability-threshold search: which thresholds to try, and which one to keep.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

Grid = dict[str, list[Any]]

# The first chunk measures how long one candidate takes; two candidates keep that measure honest
# without spending much of a short budget on it.
FIRST_CHUNK = 2


def grid_size(grid: Grid) -> int:
    """How many candidates a grid search over ``grid`` tries."""
    return math.prod(len(values) for values in grid.values()) if grid else 0


def as_grid(space: dict[str, Any]) -> Grid:
    """A search space of value lists (numpy arrays and ranges included) as a grid of plain lists."""
    return {str(k): list(v) for k, v in space.items()}


def take(grid: Grid, size: int) -> tuple[Grid, list[Grid]]:
    """A sub-grid of at most ``size`` candidates (at least one), and the rest of ``grid`` as sub-grids.

    The sub-grids are disjoint and together hold exactly the candidates of ``grid``.
    """
    if size < 1:
        raise ValueError("size must be at least 1")
    if grid_size(grid) <= size:
        return grid, []
    key = next(k for k, values in grid.items() if len(values) > 1)
    values = grid[key]
    others = grid_size(grid) // len(values)
    if others <= size:
        n = size // others
        return {**grid, key: values[:n]}, [{**grid, key: values[n:]}]
    head, tail = {**grid, key: values[:1]}, {**grid, key: values[1:]}
    chunk, rest = take(head, size)
    return chunk, [*rest, tail]


def next_chunk(pending: list[Grid], size: int) -> tuple[Grid, list[Grid]]:
    """The next sub-grid of at most ``size`` candidates from a queue of sub-grids, and the new queue."""
    chunk, rest = take(pending[0], size)
    return chunk, [*rest, *pending[1:]]


def chunk_size(left: int, seconds_left: float, seconds_per_candidate: float | None, *, done_chunks: int) -> int:
    """How many candidates the next chunk may try; 0 when the budget cannot fit one more.

    Each chunk ends with one more cross-validation of its best candidate, so a chunk of n costs
    about n + 1 candidates' time.
    """
    if left <= 0:
        return 0
    if done_chunks == 0 or seconds_per_candidate is None:
        return min(left, FIRST_CHUNK)
    if seconds_left <= 0:
        return 0
    fits = int(seconds_left / max(seconds_per_candidate, 1e-6)) - 1
    return max(0, min(left, fits))


def per_candidate(seconds: Sequence[float], candidates: Sequence[int]) -> float:
    """Seconds one candidate takes, from the chunks so far (each chunk also cross-validates its best)."""
    return sum(seconds) / max(1, sum(n + 1 for n in candidates))


# Probabilities are cut at this resolution: finer cuts change a handful of rows, not the metric.
THRESHOLD_DECIMALS = 3


def threshold_candidates(probabilities: Sequence[Any]) -> list[float]:
    """One threshold per distinct way of cutting the probabilities (to 3 decimals): the midpoints
    between consecutive distinct values, 0 (everything positive), and the usual 0.5 to compare with."""
    import numpy as np

    pooled = np.concatenate([np.asarray(p, dtype=float) for p in probabilities])
    values = np.unique(np.round(pooled, THRESHOLD_DECIMALS))
    values = values[(values > 0) & (values < 1)]
    mids = (values[:-1] + values[1:]) / 2
    return sorted({0.0, 0.5, *(float(round(m, THRESHOLD_DECIMALS + 1)) for m in mids)})


def best_threshold(curve: Sequence[tuple[float, float]], greater_is_better: bool) -> float:
    """The threshold with the best score; among equal scores, the one nearest the usual 0.5."""
    sign = 1.0 if greater_is_better else -1.0
    top = max(sign * score for _, score in curve)
    tied = [t for t, score in curve if sign * score >= top - 1e-12]
    return min(tied, key=lambda t: (round(abs(t - 0.5), 9), t))
