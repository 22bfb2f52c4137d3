"""Topic modelling on the SMS spam corpus (NMF and LDA), coherence formulas on a corpus small
enough to count by hand, and the errors a person can cause."""

from __future__ import annotations

import math
import pickle

import numpy as np
import pandas as pd
import pytest
from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS

from caretflow_engine.errors import EngineError
from caretflow_engine.ml.topics import (
    fit_topics,
    npmi_coherence,
    topic_distribution_chart,
    topic_word_charts,
    umass_coherence,
)

from .helpers import REPO_DIR
from .ml_helpers import assert_chart


@pytest.fixture(scope="module")
def spam() -> pd.Series:
    # the file is Latin-1 (pycaret/datasets ships it so); 5,572 messages
    return pd.read_csv(REPO_DIR / "demo-data/spam.csv", encoding="latin-1")["text"]


@pytest.fixture(scope="module")
def nmf(spam):
    return fit_topics(spam, "nmf", num_topics=5, seed=1)


@pytest.fixture(scope="module")
def lda(spam):
    return fit_topics(spam, "lda", num_topics=4, top_words=8, seed=1)


def test_coherence_formulas_by_hand():
    # documents × words [apple, banana, cherry, date]
    docs = np.array([[1, 1, 0, 0], [1, 1, 1, 0], [1, 0, 0, 0], [0, 0, 1, 0], [0, 0, 0, 1]])
    # D(apple)=3, D(banana)=2, D(cherry)=2, D(apple,banana)=2, D(apple,cherry)=1, D(banana,cherry)=1
    umass = umass_coherence(docs, [[0, 1, 2], [0, 3]])
    assert umass[0] == pytest.approx((math.log(3 / 3) + math.log(2 / 3) + math.log(2 / 2)) / 3)
    assert umass[1] == pytest.approx(math.log(1 / 3))  # date never with apple: log((0 + 1) / 3)
    n = 5
    npmi = npmi_coherence(docs, [[0, 1, 2], [0, 3], [2, 2]])
    apple_banana = math.log((2 / n) / ((3 / n) * (2 / n))) / -math.log(2 / n)
    apple_cherry = math.log((1 / n) / ((3 / n) * (2 / n))) / -math.log(1 / n)
    banana_cherry = math.log((1 / n) / ((2 / n) * (2 / n))) / -math.log(1 / n)
    assert npmi[0] == pytest.approx((apple_banana + apple_cherry + banana_cherry) / 3)
    assert npmi[1] == -1.0  # never together
    assert npmi[2] == pytest.approx(1.0)  # a word with itself co-occurs perfectly
    assert umass_coherence(docs, [[0]]) == [None]


@pytest.mark.parametrize("which", ["nmf", "lda"])
def test_topics_on_spam(which, request, spam):
    model = request.getfixturevalue(which)
    k = model.num_topics
    assert model.method == which and model.n_documents == len(spam) == 5572
    words = model.topic_words()
    assert [t["name"] for t in words] == [f"Topic_{i}" for i in range(k)]
    for t in words:
        assert len(t["words"]) == model.top_words and len(set(t["words"])) == model.top_words
        assert not set(t["words"]) & ENGLISH_STOP_WORDS
        assert all(w[0].isalpha() and len(w) >= 2 for w in t["words"])
        assert t["weights"] == sorted(t["weights"], reverse=True) and 0 < sum(t["weights"]) <= 1
    assigned = model.transform(spam)
    assert list(assigned.columns) == [f"Topic_{i}" for i in range(k)] + ["Dominant_Topic", "Perc_Dominant_Topic"]
    assert assigned.index.equals(spam.index) and str(assigned["Dominant_Topic"].dtype) == "Int64"
    known = assigned["Dominant_Topic"].notna()
    weights = assigned.loc[known, model.columns].to_numpy()
    np.testing.assert_allclose(weights.sum(axis=1), 1.0)
    assert (weights >= 0).all()
    assert (assigned.loc[known, "Dominant_Topic"].to_numpy(dtype=int) == weights.argmax(axis=1)).all()
    np.testing.assert_allclose(assigned.loc[known, "Perc_Dominant_Topic"], weights.max(axis=1))
    # messages with no vocabulary word ("Ok...", numbers only) have no topic rather than a made-up one
    assert (~known).sum() == model.empty_documents > 0
    assert assigned.loc[~known, model.columns].isna().all().all()
    assert assigned["Dominant_Topic"].nunique() == k  # every topic is some message's topic
    coherence = model.coherence
    assert len(coherence["umass"]) == len(coherence["npmi"]) == k
    assert all(math.isfinite(v) and v <= math.log(2) for v in coherence["umass"])
    assert all(-1 <= v <= 1 for v in coherence["npmi"])
    assert math.isfinite(coherence["umass_mean"]) and math.isfinite(coherence["npmi_mean"])
    charts = [assert_chart(c) for c in topic_word_charts(model)]
    assert [c["id"] for c in charts] == [f"topic_words_{i}" for i in range(k)]
    assert [p[0] for p in charts[0]["series"][0]["points"]] == words[0]["words"]
    dist = assert_chart(topic_distribution_chart(assigned))
    bars = dist["series"][0]["points"]
    assert sum(p[1] for p in bars) == len(spam) and bars[-1][0] == "no topic"


def test_same_seed_same_topics_and_pickle_round_trip(spam, nmf):
    again = fit_topics(spam, "nmf", num_topics=5, seed=1)
    assert again.topic_words() == nmf.topic_words()
    sample = spam.head(1500)
    first = fit_topics(sample, "lda", num_topics=3, seed=7, max_iter=5)
    assert fit_topics(sample, "lda", num_topics=3, seed=7, max_iter=5).topic_words() == first.topic_words()
    assert fit_topics(sample, "lda", num_topics=3, seed=8, max_iter=5).topic_words() != first.topic_words()
    restored = pickle.loads(pickle.dumps(nmf))
    pd.testing.assert_frame_equal(restored.transform(spam.head(50)), nmf.transform(spam.head(50)))
    # scoring takes lists and unseen text; a text of unknown words gets no topic
    out = restored.transform(["free prize claim now", "zzzz qqqq", None])
    assert out["Dominant_Topic"].isna().tolist() == [False, True, True]


def test_errors_a_person_can_cause(spam):
    def error(texts, **kw) -> EngineError:
        with pytest.raises(EngineError) as info:
            fit_topics(texts, **kw)
        return info.value

    e = error(pd.Series(["", None, "   "], name="body"))
    assert e.name == "TextColumnEmpty" and "'body'" in e.message
    e = error(pd.Series([1.5, 2.0, 3.25], name="amount"))
    assert e.name == "NotText" and "'amount'" in e.message and "float64" in e.message
    assert error(pd.Series([1, 2, "three"], dtype=object)).name == "NotText"
    e = error(pd.Series(["one text", "another text", "third"]), num_topics=4)
    assert e.name == "TooFewDocuments" and "3 non-empty documents" in e.message and "3 or fewer" in e.hint
    e = error(spam.head(200), min_df=300)
    assert e.name == "EmptyVocabulary" and "min_df" in e.hint
    e = error(pd.Series(["the and of", "it is the", "and so on"]), num_topics=2, min_df=1)
    assert e.name == "EmptyVocabulary"  # only stop words
    for bad in (1, 101, 2.5):
        e = error(spam, num_topics=bad)
        assert e.name == "InvalidParameter" and "num_topics" in e.message
    e = error(pd.Series(["apple pie", "apple tart", "pie cake", "fig"]), num_topics=3, min_df=2)
    assert e.name == "InvalidParameter" and "the 2 words left" in e.message and "lower min_df" in e.hint
    assert error(spam, method="lsi").name == "InvalidParameter"
