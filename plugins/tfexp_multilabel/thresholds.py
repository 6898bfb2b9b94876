"""Decision thresholds: fixed, or chosen on the validation split to maximize F1.

A label is predicted when its probability is ``>= threshold``. A tuned threshold sits
halfway between the lowest validation score it accepts and the next lower score, so
it does not hug one validation example. Thresholds are float32, the precision the
exported predictor compares in, so both make the same decisions.
"""

from __future__ import annotations

import numpy as np


def best_f1_threshold(y_true: np.ndarray, scores: np.ndarray, fallback: float) -> float:
    """The threshold maximizing F1 of ``scores >= t`` (``fallback`` without positives).

    Among equally good thresholds the lowest one wins (more recall)."""
    y_true, scores = np.asarray(y_true).ravel(), np.asarray(scores, dtype="float32").ravel()
    positives = y_true.sum()
    if positives == 0:
        return fallback
    order = np.argsort(-scores, kind="stable")
    s, tp = scores[order], np.cumsum(y_true[order])
    last_of_tie = np.r_[s[1:] != s[:-1], True]  # cutting inside a tie is not a threshold
    cut = np.flatnonzero(last_of_tie)
    f1 = 2 * tp[cut] / (cut + 1 + positives)  # 2TP / (predicted + actual positives)
    i = cut[len(f1) - 1 - np.argmax(f1[::-1])]  # the last (lowest) best cut
    if i + 1 == len(s):
        return float(s[i])
    halfway = np.float32((np.float64(s[i]) + s[i + 1]) / 2)
    return float(halfway if halfway > s[i + 1] else s[i])  # float32 rounding must not accept s[i+1]


def tune_thresholds(y_val: np.ndarray, scores_val: np.ndarray, mode: str, default: float) -> np.ndarray:
    """One threshold per label for ``mode`` none/global/per_label."""
    n_labels = y_val.shape[1]
    if mode == "none":
        chosen = np.full(n_labels, default)
    elif mode == "global":  # micro-F1 is the F1 of all (sample, label) pairs together
        chosen = np.full(n_labels, best_f1_threshold(y_val, scores_val, default))
    else:
        chosen = np.array([best_f1_threshold(y_val[:, j], scores_val[:, j], default) for j in range(n_labels)])
    return chosen.astype("float32")


def thresholds_document(names: list[str], thresholds: np.ndarray, mode: str, default: float) -> dict:
    """What ``multilabel/thresholds.json`` holds: enough to apply them without tfexp."""
    return {
        "rule": "label j is predicted when sigmoid(logits[:, j]) >= thresholds[labels[j]]",
        "mode": mode,
        "tuned_on": None if mode == "none" else "val",
        "default_threshold": default,
        "labels": list(names),
        "thresholds": {name: float(t) for name, t in zip(names, thresholds)},
    }
