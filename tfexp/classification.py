"""What a classifier got right and wrong on the test split, logged for every multiclass run:
the confusion matrix and per-class precision/recall/F1 from one streaming pass over the split
(:func:`tfexp.data.predict`, N x classes numbers, never the inputs), and a few sample
predictions from its first batch: a grid of pictures for images, of line plots for sequences,
a table for tabular rows (docs/data.md, "Inputs by rank")."""

from __future__ import annotations

from typing import Any

import numpy as np

from tfexp.data import predict
from tfexp.data.spec import input_kind

SAMPLES = 16
"""Sample predictions shown: a 4 x 4 grid."""
SAMPLE_FEATURES = 8
"""Tabular samples: the first this many input columns, beside the prediction."""


def log_classification_report(run, model, data, split: str = "test") -> dict[str, float]:
    """``confusion_matrix.png``, ``per_class_metrics.csv`` and ``sample_predictions.png``
    (images, sequences) or ``sample_predictions.csv`` (tabular), at the run's artifact root; returns
    the split's ``ece`` (tfexp/calibration.py), from the same pass."""
    from tfexp.calibration import expected_calibration_error

    outputs, targets = predict(model, data, split)
    predicted, names = outputs.argmax(axis=-1), class_names(data.spec)
    run.log_figure(confusion_matrix_figure(targets, predicted, names), "confusion_matrix.png")
    run.log_table(per_class_rows(targets, predicted, names), "per_class_metrics.csv")
    inputs, labels = first_batch(data, split, SAMPLES)
    probabilities = softmax(np.asarray(model(prepared(data.spec, inputs), training=False)))
    draw = DRAW.get(input_kind(data.spec.input_shape))
    if draw:
        run.log_figure(samples_figure(inputs, labels, probabilities, names, draw), "sample_predictions.png")
    else:
        run.log_table(sample_rows(inputs, labels, probabilities, names), "sample_predictions.csv")
    return {"ece": expected_calibration_error(softmax(outputs), targets)}


def class_names(spec) -> list[str]:
    return list(spec.class_names) or [str(c) for c in range(spec.num_outputs)]


def confusion_matrix_figure(targets: np.ndarray, predicted: np.ndarray, names: list[str]):
    import matplotlib.pyplot as plt
    from sklearn.metrics import ConfusionMatrixDisplay

    fig, ax = plt.subplots(figsize=(6, 6))
    ConfusionMatrixDisplay.from_predictions(
        targets, predicted, labels=list(range(len(names))), display_labels=names, ax=ax, colorbar=False,
    )
    ax.set_title("Confusion matrix (test split)")
    return fig


def per_class_rows(targets: np.ndarray, predicted: np.ndarray, names: list[str]) -> list[dict[str, Any]]:
    """One row per class: precision, recall, F1 (0 where undefined) and support."""
    from sklearn.metrics import precision_recall_fscore_support

    precision, recall, f1, support = precision_recall_fscore_support(
        targets, predicted, labels=list(range(len(names))), zero_division=0,
    )
    return [
        {"class": name, "precision": round(float(p), 4), "recall": round(float(r), 4), "f1": round(float(f), 4), "support": int(s)}
        for name, p, r, f, s in zip(names, precision, recall, f1, support)
    ]


def first_batch(data, split: str, n: int) -> tuple[np.ndarray, np.ndarray]:
    """The split's first ``n`` examples as the user knows them (raw, before preprocessing)."""
    for x, y in data.dataset(split, batch_size=n, raw=True).take(1):
        return x.numpy(), y.numpy()
    raise ValueError(f"the {split} split is empty")


def prepared(spec, raw: np.ndarray) -> np.ndarray:
    return raw if spec.preprocessing is None else np.asarray(spec.preprocessing.apply(raw))


def softmax(logits: np.ndarray) -> np.ndarray:
    shifted = np.exp(logits - logits.max(axis=-1, keepdims=True))
    return shifted / shifted.sum(axis=-1, keepdims=True)


def draw_image(ax, image: np.ndarray) -> None:
    """Grayscale for one channel, colors for RGB(A); of other channel counts, the first."""
    picture = image if image.shape[-1] in (3, 4) else image[..., 0]
    ax.imshow(picture, cmap="gray" if picture.ndim == 2 else None)
    ax.axis("off")


def draw_sequence(ax, sequence: np.ndarray) -> None:
    """One line per channel over the length."""
    ax.plot(sequence, linewidth=0.8)
    ax.tick_params(labelsize=6)


DRAW = {"image": draw_image, "sequence": draw_sequence}
"""How one example is drawn in the sample grid, by :func:`~tfexp.data.spec.input_kind`."""


def samples_figure(inputs: np.ndarray, labels: np.ndarray, probabilities: np.ndarray, names: list[str], draw):
    """A grid of ``draw``-n examples, each titled ``predicted p (true)``: green when right,
    red when wrong."""
    import matplotlib.pyplot as plt

    columns = 4
    rows = -(-len(inputs) // columns)
    fig, axes = plt.subplots(rows, columns, figsize=(2 * columns, 2.2 * rows), squeeze=False)
    for ax in axes.flat[len(inputs):]:
        ax.axis("off")
    for ax, x, label, p in zip(axes.flat, inputs, labels, probabilities):
        guess = int(p.argmax())
        draw(ax, x)
        ax.set_title(f"{names[guess]} {p[guess]:.2f} ({names[int(label)]})", fontsize=9,
                     color="green" if guess == int(label) else "red")
    fig.suptitle("Sample predictions (test split): predicted, probability (true)")
    fig.tight_layout()
    return fig


def sample_rows(inputs: np.ndarray, labels: np.ndarray, probabilities: np.ndarray, names: list[str]) -> list[dict[str, Any]]:
    """One row per example: true and predicted class, probability, then its first inputs."""
    rows = []
    for x, label, p in zip(inputs.reshape(len(inputs), -1), labels, probabilities):
        guess = int(p.argmax())
        row = {"true": names[int(label)], "predicted": names[guess], "probability": round(float(p[guess]), 4),
               "correct": guess == int(label)}
        rows.append(row | {f"x{i}": float(v) for i, v in enumerate(x[:SAMPLE_FEATURES])})
    return rows
