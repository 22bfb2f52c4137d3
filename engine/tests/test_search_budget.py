"""The time budget's pure parts: cutting grids into sub-grids and sizing chunks."""

from __future__ import annotations

import itertools

import pytest
from sklearn.model_selection import ParameterGrid

from caretflow_engine.ml.search_budget import (
    FIRST_CHUNK,
    as_grid,
    best_threshold,
    chunk_size,
    grid_size,
    next_chunk,
    per_candidate,
    take,
    threshold_candidates,
)


def candidates(grid):
    return sorted(json_key(c) for c in ParameterGrid(grid))


def json_key(candidate):
    return tuple(sorted((k, repr(v)) for k, v in candidate.items()))


GRIDS = [
    {"a": [1, 2, 3]},
    {"a": [1, 2], "b": ["x", "y", "z"]},
    {"a": [1], "b": [True, False], "c": [0.1, 0.2, 0.3, 0.4, 0.5]},
    {"a": list(range(7)), "b": list(range(5)), "c": [None, "s"]},
]


@pytest.mark.parametrize("grid", GRIDS)
@pytest.mark.parametrize("sizes", [[1], [2], [3, 1], [4, 7, 2], [100]])
def test_chunks_cover_the_grid_once_and_respect_their_size(grid, sizes):
    pending, seen = [grid], []
    for size in itertools.cycle(sizes):
        if not pending:
            break
        chunk, pending = next_chunk(pending, size)
        assert 1 <= grid_size(chunk) <= size
        assert all(isinstance(v, list) and v for v in chunk.values())  # still a grid search's input
        seen += candidates(chunk)
    assert sorted(seen) == candidates(grid)


@pytest.mark.parametrize(
    ("grid", "size", "chunk"),
    [
        ({"a": [1, 2, 3], "b": [1, 2]}, 4, {"a": [1, 2], "b": [1, 2]}),  # whole rows of the last parameter
        ({"a": [1, 2, 3], "b": [1, 2, 3, 4]}, 2, {"a": [1], "b": [1, 2]}),  # fixes a, slices b
        ({"a": [1, 2]}, 5, {"a": [1, 2]}),
    ],
)
def test_take_examples(grid, size, chunk):
    assert take(grid, size)[0] == chunk


@pytest.mark.parametrize(
    ("left", "seconds_left", "per", "done", "expected"),
    [
        (1000, 6.0, None, 0, FIRST_CHUNK),  # the first chunk measures
        (1, 6.0, None, 0, 1),
        (1000, 6.0, 0.5, 1, 11),  # 12 candidates fit; one goes to the chunk's closing CV
        (5, 60.0, 0.5, 2, 5),  # never more than is left
        (1000, 0.9, 0.5, 1, 0),  # not even one candidate and its CV fit
        (1000, -1.0, 0.5, 3, 0),
        (0, 60.0, 0.5, 1, 0),
    ],
)
def test_chunk_size(left, seconds_left, per, done, expected):
    assert chunk_size(left, seconds_left, per, done_chunks=done) == expected


def test_per_candidate_counts_each_chunks_closing_cv():
    assert per_candidate([3.0, 6.0], [2, 5]) == pytest.approx(9.0 / 9)


def test_as_grid_accepts_arrays_and_ranges():
    import numpy as np

    assert as_grid({"a": np.array([1, 2]), "b": range(2)}) == {"a": [1, 2], "b": [0, 1]}
    assert grid_size({}) == 0


def test_threshold_candidates_cut_between_distinct_probabilities():
    assert threshold_candidates([[0.2, 0.4], [0.4, 0.9, 0.0, 1.0]]) == [0.0, 0.3, 0.5, 0.65]
    # Probabilities closer than 0.001 make one cut, not two.
    assert threshold_candidates([[0.1001, 0.1002, 0.3]]) == [0.0, 0.2, 0.5]


@pytest.mark.parametrize(
    ("curve", "greater", "expected"),
    [
        ([(0.2, 0.7), (0.4, 0.8), (0.6, 0.75)], True, 0.4),
        ([(0.2, 0.8), (0.45, 0.8), (0.7, 0.8)], True, 0.45),  # a tie keeps the cut nearest 0.5
        ([(0.3, 0.8), (0.7, 0.8)], True, 0.3),  # equally near: the lower
        ([(0.2, 5.0), (0.5, 3.0), (0.8, 4.0)], False, 0.5),  # lower is better
    ],
)
def test_best_threshold(curve, greater, expected):
    assert best_threshold(curve, greater) == expected
