"""scikit-learn's one-vs-rest logistic regression on the same split: the bar to clear."""

from __future__ import annotations

import numpy as np


def one_vs_rest_probabilities(datasets) -> dict[str, np.ndarray]:
    """Probabilities on val and test of a model fit on train (inputs flattened)."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.multiclass import OneVsRestClassifier

    flat = {split: datasets.split(split)[0].reshape(len(datasets.split(split)[0]), -1) for split in ("train", "val", "test")}
    model = OneVsRestClassifier(LogisticRegression(max_iter=2000)).fit(flat["train"], datasets.y_train.astype("int32"))
    return {split: model.predict_proba(flat[split]).astype("float32") for split in ("val", "test")}
