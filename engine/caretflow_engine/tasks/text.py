"""The text family: topic modelling on a text column (``ml/topics.py``: TF-IDF + NMF, or word
counts + LDA, with scikit-learn). PyCaret 3 removed the nlp module PyCaret 2 had, so caretflow
trains these models itself, with the same runs, registration and scoring as PyCaret's tasks.

kind=train fits one topic model, writes the input rows with their topic weights as the
``topic_weights`` output (stored as ``<dataset>-topics``) and logs the model, the topic words,
coherence, chart data and PNGs. Scoring returns the topic weights of each row's text.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

from ..data import check_columns, read_dataset
from ..datastore import write_output
from ..errors import user_error
from ..tracking import dataset_label
from .base import unsupported
from .fields import spec_fields
from .own_model import OwnModel, OwnModelRun, join_output, refuse_gpu

if TYPE_CHECKING:
    import pandas as pd

    from ..context import JobContext
    from ..scoring import LoadedModel

TASK = "topics"
DOMINANT, PERC = "Dominant_Topic", "Perc_Dominant_Topic"
SORT = "Coherence"
_FIELDS = ["text_column", "method", "num_topics", "top_words", "max_features", "min_df", "seed"]
_METHODS = {
    "nmf": ("Non-negative Matrix Factorization", "sklearn.decomposition.NMF (on sklearn TfidfVectorizer)"),
    "lda": ("Latent Dirichlet Allocation",
            "sklearn.decomposition.LatentDirichletAllocation (on sklearn CountVectorizer)"),
}


class TextFamily:
    family = "text"
    tasks = (TASK,)

    # ---------------------------------------------------------------- catalog
    def describe(self, task: str, probe: Any) -> dict[str, Any]:
        return {
            "task": task,
            "family": self.family,
            "label": "Topic modelling",
            "description": "Find the topics of a text column: the top words of each topic and each document's "
                           "topic weights.",
            "operations": [],
            "fields": spec_fields(task, _FIELDS),
            "models": [
                {"id": m, "name": name, "reference": ref, "installed": True, "gpu": False, "turbo": m == "nmf"}
                for m, (name, ref) in _METHODS.items()
            ],
            "metrics": [
                {"id": "coherence", "name": SORT, "greaterIsBetter": True, "multiclass": True},
                {"id": "npmi", "name": "NPMI", "greaterIsBetter": True, "multiclass": True},
            ],
            "defaultSort": SORT,
            "plots": [
                {"id": "topic_words", "name": "Top words per topic", "chart": True},
                {"id": "topic_distribution", "name": "Documents per dominant topic", "chart": True},
            ],
            "predictionColumns": [
                {"name": "Topic_{k}", "help": "weight of topic k (0 … topics − 1); a row's weights sum to 1, "
                                              "null when its text has no known word"},
                {"name": DOMINANT, "help": "the topic of the largest weight (null without a known word)"},
                {"name": PERC, "help": "the dominant topic's weight, a fraction"},
            ],
        }

    # ------------------------------------------------------------------ train
    def train(self, spec: dict[str, Any], ctx: JobContext) -> dict[str, Any]:
        from ..ml.topics import fit_topics, topic_distribution_chart, topic_word_charts

        ev = ctx.events
        column, method, k = spec["text_column"], spec["method"], spec["num_topics"]
        refuse_gpu(spec, TASK)
        timings: dict[str, float] = {}
        t0 = time.monotonic()
        ev.stage("loading", f"Reading dataset {dataset_label(spec['dataset'])}")
        df = read_dataset(spec["dataset"])
        if len(df) == 0:
            raise user_error("EmptyDataset", "The dataset has no rows.", "Import a dataset with data rows.")
        check_columns(df, {"text_column": [column]})
        params = {k_: spec[k_] for k_ in _FIELDS}
        run = OwnModelRun(spec, ctx, TASK, df, {"caretflow.text_column": column}, params)
        timings["loading"] = time.monotonic() - t0

        name = _METHODS[method][0]
        ev.stage("compare", f"Fitting {name} with {k} topics on {len(df)} documents")
        ev.progress(0, 1, f"Fitting {name}")
        t = time.monotonic()
        run.fit(method, name)
        model = fit_topics(df[column], method, k, spec["top_words"], spec["max_features"], spec["min_df"],
                           seed=spec["seed"])
        model.text_column = column
        timings["fit"] = time.monotonic() - t
        ev.progress(1, 1, f"{name} fitted")

        t = time.monotonic()
        ev.stage("assign", "Topic weights per document")
        weights = model.transform(df[column])
        if model.empty_documents:
            ev.warning(f"{model.empty_documents} of {len(df)} documents have no word of the vocabulary; "
                       "they get no topic (null weights).")
        ev.stage("writing", f"Writing topic weights for {len(df)} documents")
        output = write_output(spec["job_id"], "topic_weights", join_output(df, weights, ctx), list(weights.columns))
        timings["assign"] = time.monotonic() - t

        coherence = model.coherence
        sizes = weights[DOMINANT].value_counts()
        details = {
            "task": TASK,
            "num_topics": k,
            "coherence": coherence["umass_mean"],
            "topics": [{"topic": t_["topic"], "words": t_["words"], "documents": int(sizes.get(t_["topic"], 0))}
                       for t_ in model.topic_words()],
        }
        sample = df.loc[df[column].notna(), [column]].head(5)
        fitted = OwnModel(
            model=model,
            model_id=method,
            model_name=name,
            metrics={SORT: coherence["umass_mean"], "NPMI": coherence["npmi_mean"]},
            run_metrics={
                "documents": model.n_documents,
                "empty_documents": model.empty_documents,
                "vocabulary": len(model.vocabulary),
                **{f"coherence_topic_{i}": v for i, v in enumerate(coherence["umass"])},
                **{f"npmi_topic_{i}": v for i, v in enumerate(coherence["npmi"])},
            },
            sample_in=sample,
            sample_out=model.transform(sample[column]),
            metadata={"caretflow_text_column": column, "caretflow_num_topics": k},
            details=details,
            plots={"topic_words": topic_word_charts(model), "topic_distribution": [topic_distribution_chart(weights)]},
            outputs=[output],
        )
        result = run.finish(fitted, timings, SORT)
        result["timings"]["total"] = round(time.monotonic() - t0, 3)
        return result

    def operate(self, spec: dict[str, Any], ctx: JobContext) -> dict[str, Any]:
        raise unsupported(spec["train"]["task"], spec["operation"]["op"], [])

    # ---------------------------------------------------------------- scoring
    def prediction_columns(self, model: LoadedModel) -> list[str]:
        return [*model.pipeline.columns, DOMINANT, PERC]

    def score(self, model: LoadedModel, df: pd.DataFrame, options: dict[str, Any]) -> pd.DataFrame:
        """Topic weights of each row's text (rows without a known word get nulls)."""
        from ..scoring import prepare_features

        column = model.meta.get("caretflow_text_column") or model.columns[0][0]
        return model.pipeline.transform(prepare_features(model, df)[column])
