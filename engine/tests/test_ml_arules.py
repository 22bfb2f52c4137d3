"""Association rules: a hand-computed basket table, relations that must hold on france.csv, the
errors a person can cause, and scoring with the picklable RulesModel."""

from __future__ import annotations

import json
import math
import pickle
import subprocess
import sys
import textwrap

import numpy as np
import pandas as pd
import pytest

from caretflow_engine.errors import EngineError
from caretflow_engine.ml.arules import BasketLayout, itemsets_frame, mine_rules, rules_frame
from caretflow_engine.ml.rules_model import RulesModel, rules_charts

from .helpers import ENGINE_DIR, REPO_DIR
from .ml_helpers import assert_chart

FRANCE = BasketLayout("transactions", "InvoiceNo", "Description")
BASKET = BasketLayout("basket", basket_column="items")

# The textbook example (Tan, Steinbach & Kumar): 5 baskets; bread, milk, diapers in 4, beer in 3.
SHOP = pd.DataFrame({
    "id": ["t1", "t2", "t3", "t4", "t5"],
    "items": ["bread, milk", "bread,diapers, beer,eggs", "milk,diapers,beer,cola", "bread,milk,diapers,beer",
              " bread ,milk,diapers,cola,"],
})


@pytest.fixture(scope="module")
def france() -> pd.DataFrame:
    return pd.read_csv(REPO_DIR / "demo-data/france.csv")


@pytest.fixture(scope="module")
def mined(france: pd.DataFrame):
    return mine_rules(france, FRANCE, min_support=0.03, min_confidence=0.3, min_lift=1.0)


def test_hand_computed_itemsets_and_rules():
    result = mine_rules(SHOP, BASKET, min_support=0.6, min_confidence=0.7, min_lift=1.0)
    assert result.n_transactions == 5 and result.n_items == 6
    got = {tuple(i): s for i, s in zip(result.itemsets["items"], result.itemsets["support"])}
    assert got == {("bread",): 0.8, ("diapers",): 0.8, ("milk",): 0.8, ("beer",): 0.6, ("bread", "diapers"): 0.6,
                   ("bread", "milk"): 0.6, ("beer", "diapers"): 0.6, ("diapers", "milk"): 0.6}
    rules = result.rules
    assert rules["antecedents"].tolist() == [["beer"], ["diapers"]]
    assert rules["consequents"].tolist() == [["diapers"], ["beer"]]
    assert rules["confidence"].tolist() == [1.0, 0.75] and rules["lift"].tolist() == [1.25, 1.25]
    np.testing.assert_allclose(rules["leverage"], [0.12, 0.12])  # 0.6 − 0.6 × 0.8
    assert math.isnan(rules["conviction"][0]) and rules["conviction"][1] == pytest.approx(1.6)  # 0.4 / 0.25
    flat = rules_frame(result)
    assert flat["antecedents"].tolist() == ['["beer"]', '["diapers"]'] and flat["conviction"].isna().tolist() == [True, False]
    assert itemsets_frame(result)["items"].tolist() == [  # support desc, then length, then text
        '["bread"]', '["diapers"]', '["milk"]', '["beer"]', '["beer", "diapers"]', '["bread", "diapers"]',
        '["bread", "milk"]', '["diapers", "milk"]']
    # without the lift floor the six rules of lift 0.9375 follow, ordered by their text
    everything = mine_rules(SHOP, BASKET, min_support=0.6, min_confidence=0.7, min_lift=0.0)
    assert len(everything.rules) == 8
    assert everything.rules["lift"].tolist()[2:] == [0.9375] * 6
    first = [r[0] for r in everything.rules["antecedents"]][2:]
    assert first == ["bread", "bread", "diapers", "diapers", "milk", "milk"]


def test_transactions_and_basket_layouts_agree():
    long = SHOP.assign(item=SHOP["items"].str.split(",")).explode("item")[["id", "item"]]
    a = mine_rules(long, BasketLayout("transactions", "id", "item"), min_support=0.4, min_confidence=0.5, min_lift=0)
    b = mine_rules(SHOP, BASKET, min_support=0.4, min_confidence=0.5, min_lift=0)
    pd.testing.assert_frame_equal(a.rules, b.rules)
    pd.testing.assert_frame_equal(a.itemsets, b.itemsets)
    semi = SHOP.assign(items=SHOP["items"].str.replace(",", ";"))
    c = mine_rules(semi, BasketLayout("basket", basket_column="items", separator=";"), 0.4, 0.5, 0)
    pd.testing.assert_frame_equal(a.rules, c.rules)


def test_france_rules_meet_thresholds_and_are_consistent(mined):
    rules = mined.rules
    assert len(rules) > 0 and mined.n_transactions == 461
    assert (rules["support"] >= 0.03).all() and (rules["confidence"] >= 0.3).all() and (rules["lift"] >= 1.0).all()
    for a, c in zip(rules["antecedents"], rules["consequents"]):
        assert a and c and not set(a) & set(c) and a == sorted(a) and c == sorted(c)
    assert (rules["support"] <= rules["antecedent_support"]).all()
    assert (rules["support"] <= rules["consequent_support"]).all()
    np.testing.assert_allclose(rules["confidence"], rules["support"] / rules["antecedent_support"])
    np.testing.assert_allclose(rules["lift"], rules["confidence"] / rules["consequent_support"])
    finite = rules["confidence"] < 1
    np.testing.assert_allclose(rules.loc[finite, "conviction"],
                               (1 - rules.loc[finite, "consequent_support"]) / (1 - rules.loc[finite, "confidence"]))
    order = list(zip(-rules["lift"], -rules["confidence"]))
    assert order == sorted(order)
    assert all(i == i.strip() and i for items in mined.itemsets["items"] for i in items)


def test_france_supports_match_a_direct_count(france, mined):
    baskets = france.assign(item=france["Description"].str.strip()).groupby("InvoiceNo")["item"].agg(set)
    pairs = mined.itemsets[mined.itemsets["length"] >= 2].head(15)
    assert len(pairs) > 0
    for items, support in zip(pairs["items"], pairs["support"]):
        assert sum(set(items) <= b for b in baskets) / len(baskets) == pytest.approx(support)
    postage = mined.itemsets.iloc[0]
    assert postage["items"] == ["POSTAGE"] and postage["support"] == pytest.approx(311 / 461)


def test_france_rule_count_falls_as_support_rises_and_order_is_deterministic(france, mined):
    counts = [len(mine_rules(france, FRANCE, min_support=s, min_confidence=0.3).rules) for s in (0.02, 0.05, 0.07)]
    assert counts[0] > len(mined.rules) > counts[1] > counts[2] > 0
    again = mine_rules(france.sample(frac=1, random_state=7), FRANCE, min_support=0.03, min_confidence=0.3)
    pd.testing.assert_frame_equal(again.rules, mined.rules)


def test_ignore_items_and_max_len(france):
    result = mine_rules(france, FRANCE, min_support=0.03, min_confidence=0.3, ignore_items=[" POSTAGE"], max_len=2)
    assert not any("POSTAGE" in items for items in result.itemsets["items"])
    assert result.itemsets["length"].max() == 2
    assert result.n_transactions < 461  # invoices holding only postage are no transaction
    assert result.params["ignore_items"] == ["POSTAGE"]


def test_missing_columns_list_the_available_ones(france):
    with pytest.raises(EngineError) as info:
        mine_rules(france, BasketLayout("transactions", "Invoice", "Description"))
    assert info.value.name == "ColumnNotFound" and "'Invoice'" in info.value.message
    assert "InvoiceNo" in info.value.hint and "Description" in info.value.hint
    with pytest.raises(EngineError) as info:
        mine_rules(SHOP, BasketLayout("basket"))
    assert info.value.name == "ColumnMissing" and "items" in info.value.hint


def test_no_transactions(france):
    with pytest.raises(EngineError) as info:
        mine_rules(france.assign(Description="  "), FRANCE)
    assert info.value.name == "NoTransactions" and "Description" in info.value.message
    with pytest.raises(EngineError, match="ignored"):
        mine_rules(SHOP, BASKET, ignore_items=["bread", "milk", "diapers", "beer", "cola", "eggs"])


def test_no_frequent_itemset_hints_a_support_that_works(france):
    with pytest.raises(EngineError) as info:
        mine_rules(france, FRANCE, min_support=0.9)
    assert info.value.name == "NoFrequentItemsets" and "0.6746" in info.value.message
    assert "20th most frequent item" in info.value.hint
    hinted = float(info.value.hint.split("min_support to ")[1].split()[0])
    result = mine_rules(france, FRANCE, min_support=hinted, min_confidence=0.0, min_lift=0.0)
    assert (result.itemsets["length"] == 1).sum() >= 20


def test_no_rule_hints_the_highest_confidence_and_lift(france):
    with pytest.raises(EngineError) as info:
        mine_rules(france, FRANCE, min_support=0.05, min_confidence=0.5, min_lift=100)
    error = info.value
    assert error.name == "NoRules" and "highest confidence found is 1" in error.message
    best_lift = float(error.hint.split("min_lift to ")[1].split()[0])
    result = mine_rules(france, FRANCE, min_support=0.05, min_confidence=0.5, min_lift=best_lift)
    assert len(result.rules) >= 1 and result.rules["lift"].iloc[0] == pytest.approx(best_lift, abs=1e-3)
    with pytest.raises(EngineError) as info:  # only one item is that frequent: no pair at all
        mine_rules(france, FRANCE, min_support=0.3)
    assert info.value.name == "NoRules" and "most frequent pair" in info.value.hint
    pair = float(info.value.hint.split("min_support to ")[1].split()[0])
    assert len(mine_rules(france, FRANCE, min_support=pair, min_confidence=0.0, min_lift=0.0).rules) > 0


def test_size_limits_and_parameters(france):
    with pytest.raises(EngineError) as info:
        mine_rules(france, FRANCE, min_support=0.02, max_itemsets=500)
    assert info.value.name == "TooManyItemsets" and "500" in info.value.message
    with pytest.raises(EngineError) as info:
        mine_rules(france, FRANCE, min_support=0.02, max_cells=10_000)
    assert info.value.name == "TooManyItems" and "461 transactions × 216 frequent items" in info.value.message
    with pytest.raises(EngineError) as info:
        mine_rules(france, FRANCE, min_support=0.02, min_confidence=0.0, min_lift=0.0, max_rules=100)
    assert info.value.name == "TooManyRules"
    for bad in ({"min_support": 0}, {"min_confidence": 1.5}, {"min_lift": -1}, {"max_len": 1}):
        with pytest.raises(EngineError) as info:
            mine_rules(SHOP, BASKET, **bad)
        assert info.value.name == "InvalidParameter" and next(iter(bad)) in info.value.message


def test_recommendations_by_hand():
    model = RulesModel.from_result(mine_rules(SHOP, BASKET, min_support=0.6, min_confidence=0.7, min_lift=0.0))
    recs = model.recommend([["beer"], ["diapers"], ["bread", " milk"], ["cola"]], top_n=5)
    assert [r["item"] for r in recs[0]] == ["diapers"] and recs[0][0]["confidence"] == 1.0
    assert [r["item"] for r in recs[1]] == ["beer", "bread", "milk"]
    assert recs[1][0]["antecedents"] == ["diapers"] and recs[1][0]["lift"] == 1.25
    assert [r["item"] for r in recs[2]] == ["diapers"]  # bread → milk does not fire: milk is in the basket
    assert recs[3] == []
    assert [r["item"] for r in model.recommend([["diapers"]], top_n=2)[0]] == ["beer", "bread"]
    scored = model.score_frame(SHOP.assign(items=["beer", "diapers", "bread,milk", "cola", None]), top_n=2)
    assert scored["recommendations"].tolist() == ['["diapers"]', '["beer", "bread"]', '["diapers"]', None, None]
    assert scored["recommendation_lift"].tolist()[:3] == [1.25, 1.25, 0.9375]
    assert scored["recommendation_lift"].isna().tolist() == [False, False, False, True, True]
    assert scored["rules_matched"].tolist() == [1, 3, 2, 0, 0] and scored["id"].tolist() == SHOP["id"].tolist()
    long = pd.DataFrame({"order": [7, 7, 8, 9], "sku": ["bread", "milk", "beer", None]})
    by_order = model.score_frame(long, transaction_column="order", item_column="sku")
    assert list(by_order.columns) == ["order", "recommendations", "recommendation_lift", "rules_matched"]
    assert by_order["order"].tolist() == [7, 8, 9] and by_order["rules_matched"].tolist() == [2, 1, 0]


def test_france_scoring_matches_brute_force(france, mined):
    model = RulesModel.from_result(mined)
    scored = model.score_frame(france)
    assert len(scored) == 461 and scored["rules_matched"].dtype == np.int64
    baskets = france.assign(item=france["Description"].str.strip()).groupby("InvoiceNo", sort=False)["item"].agg(set)
    assert scored["InvoiceNo"].tolist() == baskets.index.tolist()
    rules = list(zip(mined.rules["antecedents"], mined.rules["consequents"], mined.rules["lift"]))
    for invoice, basket in list(baskets.items())[:60]:
        fired = [(lift, c) for a, c, lift in rules if set(a) <= basket and not set(c) & basket]
        row = scored[scored["InvoiceNo"] == invoice].iloc[0]
        assert row["rules_matched"] == len(fired)
        if fired:
            assert row["recommendation_lift"] == max(lift for lift, _ in fired)
            assert not set(json.loads(row["recommendations"])) & basket
        else:
            assert row["recommendations"] is None


def test_model_pickles_and_scores_without_mlxtend(tmp_path, mined, france):
    model = RulesModel.from_result(mined)
    path = tmp_path / "rules.pkl"
    path.write_bytes(pickle.dumps(model))
    expected = model.score_frame(france.head(200))
    expected.to_pickle(tmp_path / "expected.pkl")
    script = textwrap.dedent(f"""
        import sys, pickle
        import pandas as pd
        sys.modules["mlxtend"] = None  # any import of mlxtend now fails
        model = pickle.loads(open({str(path)!r}, "rb").read())
        got = model.score_frame(pd.read_csv({str(REPO_DIR / "demo-data/france.csv")!r}).head(200))
        pd.testing.assert_frame_equal(got, pd.read_pickle({str(tmp_path / "expected.pkl")!r}))
        print("ok", len(model))
    """)
    run = subprocess.run([sys.executable, "-c", script], cwd=ENGINE_DIR, capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr
    assert run.stdout.strip() == f"ok {len(mined.rules)}"


def test_rules_charts_are_valid(mined):
    scatter, top = (assert_chart(c) for c in rules_charts(mined, top_n=10))
    assert sum(len(s["points"]) for s in scatter["series"]) == len(mined.rules)
    for s in scatter["series"]:
        assert s["name"].startswith("lift") and all(0 < x <= 1 and 0 < y <= 1 for x, y in s["points"])
    assert len(top["series"][0]["points"]) == 10 and top["x"]["scale"] == "category"
    lifts = [p[1] for p in top["series"][0]["points"]]
    assert lifts == sorted(lifts, reverse=True) and lifts[0] == pytest.approx(mined.rules["lift"].max())
