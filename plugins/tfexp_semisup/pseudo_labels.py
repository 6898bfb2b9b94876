"""Confidence-thresholded pseudo-labels, and what they look like against the hidden truth.

``confident_pseudo_labels`` is the one rule both ``pseudo_label`` and ``fixmatch`` use;
it runs on NumPy arrays and on tensors inside a compiled train step alike.
"""

from __future__ import annotations

import re

import numpy as np


def confident_pseudo_labels(probs, threshold: float):
    """``(labels, mask)``: the arg-max class of each row and 1.0 where its probability
    reaches ``threshold`` (``>=``), else 0.0."""
    from keras import ops

    labels = ops.argmax(probs, axis=-1)
    mask = ops.cast(ops.max(probs, axis=-1) >= threshold, "float32")
    return labels, mask


def pseudo_labeled_training_set(x_labeled, y_labeled, x_unlabeled, probs, threshold: float):
    """The labeled examples plus the unlabeled ones the model is confident about, with the
    model's own predictions as their targets; and the accepted-mask over ``x_unlabeled``."""
    from keras import ops

    labels, mask = (ops.convert_to_numpy(t) for t in confident_pseudo_labels(probs, threshold))
    accepted = mask.astype(bool)
    x = np.concatenate([x_labeled, x_unlabeled[accepted]])
    y = np.concatenate([y_labeled, labels[accepted].astype(y_labeled.dtype)])
    return x, y, accepted


def metric_safe(name: str) -> str:
    """A class name usable in an MLflow metric key."""
    return re.sub(r"[^0-9A-Za-z_.\- ]", "_", name)


def pseudo_label_stats(probs: np.ndarray, threshold: float, hidden_y: np.ndarray, class_names: list[str]) -> dict[str, float]:
    """Diagnostics of the pseudo-labels a model would give the pool right now.

    ``accepted`` and ``mask_rate`` (share above the threshold), ``accuracy`` of the accepted
    ones against the hidden labels (absent when none is accepted), ``pool_accuracy`` of
    every prediction, and ``count_<class>`` per class among the accepted."""
    from keras import ops

    labels, mask = (ops.convert_to_numpy(t) for t in confident_pseudo_labels(probs, threshold))
    accepted = mask.astype(bool)
    correct = labels == hidden_y
    stats = {
        "accepted": float(accepted.sum()),
        "mask_rate": float(accepted.mean()),
        "pool_accuracy": float(correct.mean()),
    }
    if accepted.any():
        stats["accuracy"] = float(correct[accepted].mean())
    counts = np.bincount(labels[accepted], minlength=len(class_names))
    stats.update({f"count_{metric_safe(name)}": float(n) for name, n in zip(class_names, counts)})
    return stats
