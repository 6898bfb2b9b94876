"""scikit-learn's one-vs-rest logistic regression on the same split: the bar to clear.

scikit-learn needs arrays, so each split is materialized, up to ``limit`` examples
(``technique.baseline_max_examples``)."""

from __future__ import annotations

import numpy as np

from tfexp.data import materialize

LIMIT_KEY = "technique.baseline_max_examples"


def one_vs_rest_probabilities(data, limit: int) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """``(probabilities, targets)`` on val and test of a model fit on train (inputs flattened)."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.multiclass import OneVsRestClassifier

    def arrays(split: str) -> tuple[np.ndarray, np.ndarray]:
        x, y = materialize(data, split, limit=limit, key=LIMIT_KEY, why="the scikit-learn baseline")
        return x.reshape(len(x), -1), y.astype("int32")

    model = OneVsRestClassifier(LogisticRegression(max_iter=2000)).fit(*arrays("train"))
    scored = {}
    for split in ("val", "test"):
        x, y = arrays(split)
        scored[split] = (model.predict_proba(x).astype("float32"), y)
    return scored
