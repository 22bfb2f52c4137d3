"""Pure building blocks for the engine's task families (no MLflow, no events, no PyCaret).

- ``charts``: JSON-safe chart dicts in the shape of ``packages/contracts/src/charts.ts``.
- ``eval_charts``: chart data for supervised evaluation plots (ROC, PR, confusion matrix, ...).
- ``cluster_charts``: chart data for clustering and anomaly detection plots.
- ``arules``: association rules mined with mlxtend; ``rules_model``: the picklable ``RulesModel``
  that scores baskets without mlxtend, and the rules charts.
- ``topics``: topic modelling (NMF / LDA) with coherence, and the picklable ``TopicModel``.
"""
