"""Topic modelling with scikit-learn; PyCaret 3 removed the nlp module PyCaret 2 had.

``fit_topics`` learns ``num_topics`` topics from a text column: TF-IDF + NMF (fast, crisp topics
on short texts) or word counts + LDA (the probabilistic model PyCaret 2 defaulted to). The returned
``TopicModel`` is a picklable sklearn Pipeline plus what the UI shows: the top words per topic and
their coherence on the training corpus.

Tokens are words of two or more characters that start with a letter: numbers (phone numbers,
prices, dates) make poor topic words, and they dominate SMS and support-ticket corpora.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from itertools import combinations
from typing import Any

import numpy as np
import pandas as pd
import scipy.sparse as sp
from sklearn.decomposition import NMF, LatentDirichletAllocation
from sklearn.feature_extraction.text import CountVectorizer, TfidfVectorizer
from sklearn.pipeline import Pipeline

from ..errors import user_error
from .charts import series, xy_chart

METHODS = ("nmf", "lda")
MAX_TOPICS = 100
TOKEN_PATTERN = r"(?u)\b[^\W\d_][^\W_]+\b"


def umass_coherence(doc_word: Any, topics: list[list[int]]) -> list[float | None]:
    """UMass coherence per topic (Mimno et al., 2011) on a documents × words matrix.

    For a topic's words w_1 … w_N, most probable first, each pair j < i scores
    log((D(w_i, w_j) + 1) / D(w_j)), where D counts the documents containing the word(s). The topic's
    coherence is the mean over its N(N−1)/2 pairs (Mimno et al. sum them; the mean, as gensim
    reports it, compares across N). Values are ≤ log 2, higher is more coherent. Words that appear
    in no document make a pair undefined; such pairs are skipped (None for a topic with no pair).
    """
    binary = sp.csc_matrix(doc_word) != 0
    out = []
    for words in topics:
        sub = binary[:, words].astype(np.int64)
        together = (sub.T @ sub).toarray()
        scores = [np.log((together[i, j] + 1) / together[j, j])
                  for i, j in ((i, j) for i in range(len(words)) for j in range(i)) if together[j, j] > 0]
        out.append(float(np.mean(scores)) if scores else None)
    return out


def npmi_coherence(doc_word: Any, topics: list[list[int]]) -> list[float | None]:
    """NPMI coherence per topic (Bouma, 2009; Röder et al., 2015) with document co-occurrence.

    For each pair of top words, with P the share of documents: NPMI = log(P(a,b) / (P(a) P(b))) /
    −log P(a,b), in [−1, 1]; a pair never seen together scores −1, a pair in every document 1. The
    topic's coherence is the mean over its pairs.
    """
    binary = sp.csc_matrix(doc_word) != 0
    n = binary.shape[0]
    out = []
    for words in topics:
        sub = binary[:, words].astype(np.int64)
        together = (sub.T @ sub).toarray() / n
        scores = []
        for a, b in combinations(range(len(words)), 2):
            p_ab, p_a, p_b = together[a, b], together[a, a], together[b, b]
            if p_ab == 0:
                scores.append(-1.0)
            elif p_ab == 1:
                scores.append(1.0)
            else:
                scores.append(float(np.log(p_ab / (p_a * p_b)) / -np.log(p_ab)))
        out.append(float(np.mean(scores)) if scores else None)
    return out


@dataclass
class TopicModel:
    """A fitted topic model: ``pipeline`` (vectorizer → NMF or LDA) and facts about its training.

    ``coherence``: ``umass`` and ``npmi`` (a value per topic), ``umass_mean`` and ``npmi_mean``.
    ``text_column``: the column ``predict`` reads from a data frame (set by the caller that knows it).
    """

    pipeline: Pipeline
    method: str
    num_topics: int
    top_words: int
    n_documents: int
    empty_documents: int
    coherence: dict[str, Any] = field(default_factory=dict)
    text_column: str | None = None

    @property
    def columns(self) -> list[str]:
        return [f"Topic_{k}" for k in range(self.num_topics)]

    @property
    def vocabulary(self) -> np.ndarray:
        return self.pipeline.named_steps["vectorizer"].get_feature_names_out()

    def transform(self, texts: Any) -> pd.DataFrame:
        """Topic weights per document (PyCaret 2's column names).

        ``Topic_0 … Topic_{k-1}``: weights summing to 1 per document; ``Dominant_Topic`` (nullable
        Int64): the topic of the largest weight (the lowest number on ties); ``Perc_Dominant_Topic``:
        that weight, a fraction in (0, 1]. A document with no word of the vocabulary (empty, only
        stop words or unseen words) gets no topic: null weights, null Dominant_Topic. Equal weights
        would make it look like a member of Topic_0, which it is not.
        """
        docs, index = _documents(texts, strict=False)
        counts = self.pipeline.named_steps["vectorizer"].transform(docs)
        weights = np.asarray(self.pipeline.named_steps["model"].transform(counts), dtype=float)
        totals = weights.sum(axis=1)
        known = (counts.getnnz(axis=1) > 0) & (totals > 0)
        normalised = np.full_like(weights, np.nan)
        normalised[known] = weights[known] / totals[known, None]
        frame = pd.DataFrame(normalised, columns=self.columns, index=index)
        filled = np.nan_to_num(normalised)
        dominant = np.argmax(filled, axis=1)  # the first maximum: the lowest topic number on ties
        frame["Dominant_Topic"] = pd.array([int(d) if ok else pd.NA for d, ok in zip(dominant, known)], dtype="Int64")
        frame["Perc_Dominant_Topic"] = np.where(known, filled.max(axis=1), np.nan)
        return frame

    def predict(self, X: Any) -> pd.DataFrame:
        """``transform`` of a data frame's text column (``text_column``, or its only column), a Series
        or a list: MLflow's python_function flavor calls ``predict``, so the saved model serves there too."""
        if isinstance(X, pd.DataFrame):
            if self.text_column is not None and self.text_column in X.columns:
                X = X[self.text_column]
            elif X.shape[1] == 1:
                X = X.iloc[:, 0]
            else:
                raise user_error("ColumnNotFound", f"The text column '{self.text_column}' is not in the input "
                                 f"(columns: {', '.join(map(str, X.columns))}).",
                                 f"Send the documents in a column named '{self.text_column}'.")
        return self.transform(X)

    def topic_words(self, top_n: int | None = None) -> list[dict[str, Any]]:
        """Per topic ``{"topic", "name", "words", "weights"}``: the ``top_n`` (default
        ``top_words``) words with positive weight, heaviest first (ties by word). Weights are the
        topic's word distribution (each topic's components scaled to sum 1), so NMF and LDA
        topics read on the same scale."""
        vocabulary = self.vocabulary
        out = []
        for k, row in enumerate(self.pipeline.named_steps["model"].components_):
            dist = row / row.sum() if row.sum() > 0 else row
            order = [i for i in np.lexsort((vocabulary, -dist)) if dist[i] > 0][: top_n or self.top_words]
            out.append({"topic": k, "name": f"Topic_{k}", "words": [str(vocabulary[i]) for i in order],
                        "weights": [float(dist[i]) for i in order]})
        return out


def _documents(texts: Any, strict: bool = True) -> tuple[list[str], pd.Index]:
    """Texts as strings (null → ""), with the index to give the output. ``strict`` (fitting)
    refuses columns that are not text; scoring takes whatever it is given."""
    column = texts if isinstance(texts, pd.Series) else pd.Series(list(texts), dtype=object)
    name = _label(column)
    textual = (pd.api.types.is_object_dtype(column) or pd.api.types.is_string_dtype(column)
               or isinstance(column.dtype, pd.CategoricalDtype))
    if strict and column.notna().any() and not textual:
        raise user_error("NotText", f"{name} holds {column.dtype} values, not text.",
                         "Pick the column that holds the documents' text.")
    present = column.dropna()
    others = present[[not isinstance(v, str) for v in present]]
    if strict and len(others) > len(present) / 2:
        raise user_error("NotText", f"{name} holds mostly non-text values (e.g. {others.iloc[0]!r}).",
                         "Pick the column that holds the documents' text.")
    return [v if isinstance(v, str) else ("" if pd.isna(v) else str(v)) for v in column.tolist()], column.index


def _label(texts: Any) -> str:
    return f"Column '{texts.name}'" if isinstance(texts, pd.Series) and texts.name is not None else "The text column"


def _check(method: str, num_topics: int, top_words: int) -> None:
    if method not in METHODS:
        raise user_error("InvalidParameter", f"Unknown topic model method '{method}'.",
                         "Use 'nmf' (TF-IDF + non-negative matrix factorisation) "
                         "or 'lda' (latent Dirichlet allocation).")
    if not isinstance(num_topics, (int, np.integer)) or not 2 <= num_topics <= MAX_TOPICS:
        raise user_error("InvalidParameter", f"num_topics is {num_topics}.",
                         f"Set num_topics to a whole number from 2 to {MAX_TOPICS}.")
    if not 2 <= top_words <= 100:
        raise user_error("InvalidParameter", f"top_words is {top_words}.", "Set top_words from 2 to 100.")


def fit_topics(
    texts: Any,
    method: str = "nmf",
    num_topics: int = 4,
    top_words: int = 10,
    max_features: int = 5000,
    min_df: int | float = 2,
    max_df: int | float = 0.95,
    stop_words: str | list[str] | None = "english",
    seed: int = 123,
    max_iter: int | None = None,
) -> TopicModel:
    """Learn ``num_topics`` topics from ``texts`` (a Series or list of str); see the module docstring.

    ``min_df``/``max_df`` follow scikit-learn (an int is a document count, a float a share of the
    documents); ``stop_words`` is "english" (scikit-learn's list), a list of words, or None.
    ``max_iter`` defaults to 400 for NMF and 10 for LDA (scikit-learn's defaults).
    """
    _check(method, num_topics, top_words)
    docs, _ = _documents(texts)
    non_empty = sum(1 for d in docs if d.strip())
    name = _label(texts)
    if non_empty == 0:
        raise user_error("TextColumnEmpty", f"{name} has no text ({len(docs)} rows, all empty or null).",
                         "Pick the column that holds the documents' text.")
    if non_empty < num_topics:
        raise user_error("TooFewDocuments", f"{name} has {non_empty} non-empty documents, fewer than the "
                         f"{num_topics} topics asked for.",
                         f"Set num_topics to {max(2, non_empty)} or fewer, or add documents.")
    kind = TfidfVectorizer if method == "nmf" else CountVectorizer
    vectorizer = kind(token_pattern=TOKEN_PATTERN, stop_words=stop_words, max_features=max_features,
                      min_df=min_df, max_df=max_df, lowercase=True)
    try:
        counts = vectorizer.fit_transform(docs)
    except ValueError as exc:  # "empty vocabulary", "After pruning, no terms remain", "max_df ... < min_df"
        lower = "Lower min_df (e.g. to 1) or raise max_df" if min_df != 1 else "Raise max_df, turn stop words off"
        raise user_error(
            "EmptyVocabulary",
            f"{name} has no word left to model ({non_empty} documents) once stop words and the words in fewer "
            f"than min_df={min_df} or more than max_df={max_df} of the documents are dropped: {exc}.",
            f"{lower}, or use a column with more text.",
        ) from exc
    vectorizer.stop_words_ = None  # the pruned-word set is only for inspection and can be large in a pickle
    words = counts.shape[1]
    if words < num_topics:
        raise user_error("InvalidParameter", f"num_topics is {num_topics}, more than the {words} words left in "
                         "the vocabulary.", f"Set num_topics to {max(2, words)} or fewer, or lower min_df.")
    if method == "nmf":
        model: Any = NMF(num_topics, init="nndsvda", random_state=seed, max_iter=max_iter or 400)
    else:
        model = LatentDirichletAllocation(num_topics, learning_method="batch", random_state=seed,
                                          max_iter=max_iter or 10, n_jobs=1)
    model.fit(counts)
    pipeline = Pipeline([("vectorizer", vectorizer), ("model", model)])
    result = TopicModel(pipeline, method, num_topics, top_words, len(docs), int((counts.getnnz(axis=1) == 0).sum()))
    index = {w: i for i, w in enumerate(result.vocabulary)}
    tops = [[index[w] for w in t["words"]] for t in result.topic_words()]
    umass, npmi = umass_coherence(counts, tops), npmi_coherence(counts, tops)
    result.coherence = {"umass": umass, "umass_mean": _mean(umass), "npmi": npmi, "npmi_mean": _mean(npmi)}
    return result


def _mean(values: list[float | None]) -> float | None:
    known = [v for v in values if v is not None]
    return float(np.mean(known)) if known else None


def topic_word_charts(model: TopicModel, top_n: int | None = None) -> list[dict[str, Any]]:
    """One bar chart per topic (``topic_words_<k>``) of its top words and weights. One chart per
    topic because each topic has its own words: a shared word axis would be mostly empty bars."""
    charts = []
    for topic in model.topic_words(top_n):
        k = topic["topic"]
        note = None
        if model.coherence:
            note = f"UMass coherence {model.coherence['umass'][k]:.3f}, NPMI {model.coherence['npmi'][k]:.3f}"
        bars = series(topic["name"], "bar", list(zip(topic["words"], topic["weights"])))
        charts.append(xy_chart(f"topic_words_{k}", f"Topic {k}: top words", "Word", "Weight", [bars],
                               x_scale="category", note=note))
    return charts


def topic_distribution_chart(assigned: pd.DataFrame) -> dict[str, Any]:
    """Documents per dominant topic (from ``TopicModel.transform``), with documents without a topic
    as a last bar when there are any."""
    topics = [c for c in assigned.columns if c.startswith("Topic_")]
    counts = assigned["Dominant_Topic"].value_counts()
    points = [[name, int(counts.get(k, 0))] for k, name in enumerate(topics)]
    missing = int(assigned["Dominant_Topic"].isna().sum())
    if missing:
        points.append(["no topic", missing])
    return xy_chart("topic_distribution", "Documents per dominant topic", "Topic", "Documents",
                    [series("documents", "bar", points)], x_scale="category",
                    note=f"{len(assigned)} documents" + (f", {missing} without a known word" if missing else ""))
