"""The setup preview: PyCaret's preprocessing on a sample, rows before and after."""

from __future__ import annotations

import pytest

from caretflow_engine.errors import EngineError
from caretflow_engine.preview import setup_preview

from .conftest import demo_dataset


@pytest.fixture(scope="module")
def juice(data_root):
    return demo_dataset("juice.csv")


def test_options_show_their_effect_on_columns_and_rows(juice):
    preview = setup_preview(
        {"dataset": juice, "task": "classification", "target": "Purchase", "ignore_columns": ["Id"],
         "setup": {"polynomial_features": True, "normalize": True}, "rows": 5}
    )
    assert len(preview["before"]["rows"]) == 5 and len(preview["after"]["rows"]) == 5
    assert "Purchase" not in preview["before"]["columns"] and "Id" not in preview["before"]["columns"]
    # degree-2 products of the numeric columns are added, e.g. PriceCH × PriceMM
    assert "PriceCH PriceMM" in preview["added"]
    assert preview["steps"][-1] == "normalize"
    # normalized values: every numeric column of the after table has a small magnitude on these rows
    idx = preview["after"]["columns"].index("PriceCH")
    assert all(abs(row[idx]) < 10 for row in preview["after"]["rows"])


def test_clustering_pca_replaces_the_columns(juice):
    preview = setup_preview({"dataset": juice, "task": "clustering", "ignore_columns": ["Purchase", "Id"],
                             "setup": {"pca": True, "pca_components": 2}, "rows": 3})
    assert preview["after"]["columns"] == ["pca0", "pca1"]
    assert "LoyalCH" in preview["removed"]


@pytest.mark.parametrize(
    ("request_", "name"),
    [
        ({"task": "time_series"}, "PreviewNotAvailable"),
        ({"task": "classification"}, "TargetRequired"),
        ({"task": "classification", "target": "Nope"}, "ColumnNotFound"),
        ({"task": "classification", "target": "Purchase", "setup": {"normalise": True}}, "UnknownSetupOption"),
        ({"task": "classification", "target": "Purchase", "setup": {"normalize": "yes"}}, "InvalidSetupOption"),
    ],
)
def test_bad_requests_get_clear_errors(juice, request_, name):
    with pytest.raises(EngineError) as info:
        setup_preview({"dataset": juice, **request_})
    assert info.value.name == name and info.value.hint
