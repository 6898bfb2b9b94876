"""Multi-label metrics that stay honest when labels are sparse (no plain binary accuracy).

Thresholded metrics follow scikit-learn exactly (``zero_division=0``: a label never
predicted, or absent from the split, scores 0 in macro averages). Ranking metrics
(ROC-AUC, average precision) are undefined for a label without both classes in the
split: such labels are NaN in the per-label report and left out of the macro means.
"""

from __future__ import annotations

import numpy as np


def predict_labels(scores: np.ndarray, thresholds: np.ndarray) -> np.ndarray:
    """The decision rule used everywhere (evaluation, tuning, the exported predictor),
    compared in float32 like the exported predictor."""
    return (np.asarray(scores, dtype="float32") >= np.asarray(thresholds, dtype="float32")).astype("int32")


def _defined(y_true: np.ndarray) -> np.ndarray:
    """Labels with both positives and negatives: the ones ranking metrics can score."""
    positives = y_true.sum(axis=0)
    return (positives > 0) & (positives < len(y_true))


def per_label_ranking(y_true: np.ndarray, scores: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per-label ROC-AUC and average precision, NaN where undefined."""
    from sklearn.metrics import average_precision_score, roc_auc_score

    auc, ap = np.full(y_true.shape[1], np.nan), np.full(y_true.shape[1], np.nan)
    for j in np.flatnonzero(_defined(y_true)):
        auc[j] = roc_auc_score(y_true[:, j], scores[:, j])
        ap[j] = average_precision_score(y_true[:, j], scores[:, j])
    return auc, ap


def _nanmean(values: np.ndarray) -> float:
    return float(np.mean(values[~np.isnan(values)])) if not np.isnan(values).all() else float("nan")


def multilabel_metrics(y_true: np.ndarray, scores: np.ndarray, thresholds: np.ndarray) -> dict[str, float]:
    """Headline metrics of probabilities ``scores`` against multi-hot ``y_true``."""
    from sklearn.metrics import accuracy_score, average_precision_score, hamming_loss, precision_recall_fscore_support, roc_auc_score

    y_true = np.asarray(y_true).astype("int32")
    y_pred = predict_labels(scores, thresholds)
    out: dict[str, float] = {}
    for average in ("micro", "macro"):
        precision, recall, f1, _ = precision_recall_fscore_support(y_true, y_pred, average=average, zero_division=0)
        out |= {f"{average}_f1": f1, f"{average}_precision": precision, f"{average}_recall": recall}
    out["hamming_loss"] = hamming_loss(y_true, y_pred)
    out["subset_accuracy"] = accuracy_score(y_true, y_pred)  # exact match of the whole label set
    auc, ap = per_label_ranking(y_true, scores)
    out["roc_auc_macro"], out["average_precision_macro"] = _nanmean(auc), _nanmean(ap)
    flat_defined = 0 < y_true.sum() < y_true.size
    out["roc_auc_micro"] = roc_auc_score(y_true.ravel(), scores.ravel()) if flat_defined else float("nan")
    out["average_precision_micro"] = average_precision_score(y_true, scores, average="micro") if flat_defined else float("nan")
    out["label_cardinality_true"] = y_true.sum(axis=1).mean()
    out["label_cardinality_pred"] = y_pred.sum(axis=1).mean()
    return {k: float(v) for k, v in out.items()}


def per_label_report(y_true: np.ndarray, scores: np.ndarray, thresholds: np.ndarray, names: list[str]):
    """One row per label: support, threshold, precision/recall/F1, ROC-AUC, average precision."""
    import pandas as pd
    from sklearn.metrics import precision_recall_fscore_support

    y_true = np.asarray(y_true).astype("int32")
    y_pred = predict_labels(scores, thresholds)
    precision, recall, f1, support = precision_recall_fscore_support(y_true, y_pred, average=None, zero_division=0)
    auc, ap = per_label_ranking(y_true, scores)
    return pd.DataFrame({
        "label": names, "support": support, "predicted": y_pred.sum(axis=0),
        "threshold": np.broadcast_to(thresholds, (len(names),)),
        "precision": precision, "recall": recall, "f1": f1, "roc_auc": auc, "average_precision": ap,
    })
