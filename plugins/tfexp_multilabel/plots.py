"""The per-label precision-recall curves, with each label's chosen operating point."""

from __future__ import annotations

import numpy as np

LEGEND_MAX_LABELS = 12


def pr_curves_figure(y_true: np.ndarray, scores: np.ndarray, thresholds: np.ndarray, names: list[str]):
    import matplotlib.pyplot as plt
    from sklearn.metrics import average_precision_score, precision_recall_curve

    from tfexp_multilabel.metrics import predict_labels

    fig, ax = plt.subplots(figsize=(7, 6))
    decisions = predict_labels(scores, thresholds)
    for j, name in enumerate(names):
        positives = y_true[:, j].sum()
        if positives == 0:
            continue  # no curve without positives
        precision, recall, _ = precision_recall_curve(y_true[:, j], scores[:, j])
        ap = average_precision_score(y_true[:, j], scores[:, j])
        (line,) = ax.plot(recall, precision, lw=1, alpha=0.8, label=f"{name} (AP {ap:.2f})")
        tp = int((decisions[:, j] * y_true[:, j]).sum())
        predicted = int(decisions[:, j].sum())
        ax.plot(tp / positives, tp / predicted if predicted else 1.0, "o", color=line.get_color(), ms=4)
    if y_true.any():
        precision, recall, _ = precision_recall_curve(y_true.ravel(), scores.ravel())
        ax.plot(recall, precision, color="black", lw=2.5, label="micro-average")
    ax.set(xlabel="recall", ylabel="precision", xlim=(0, 1.01), ylim=(0, 1.02),
           title="Precision-recall per label (test split); dots: chosen thresholds")
    if len(names) <= LEGEND_MAX_LABELS:
        ax.legend(fontsize=8, loc="lower left")
    return fig
