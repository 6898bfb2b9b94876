"""Confidence-thresholded pseudo-labels, and what they look like against the hidden truth.

``confident_pseudo_labels`` is the one rule both ``pseudo_label`` and ``fixmatch`` use;
it runs on NumPy arrays and on tensors inside a compiled train step alike.
:class:`PseudoLabelTally` is the only reader of the pool's hidden labels.
"""

from __future__ import annotations

import re

import numpy as np


def confident_pseudo_labels(probs, threshold):
    """``(labels, mask)``: the arg-max class of each row and 1.0 where its probability
    reaches ``threshold`` (``>=``; a number, or one per class, array or variable: the predicted
    class's), else 0.0."""
    from keras import ops

    labels = ops.argmax(probs, axis=-1)
    if not np.isscalar(threshold):
        threshold = ops.take(ops.cast(threshold, probs.dtype), labels)
    mask = ops.cast(ops.max(probs, axis=-1) >= threshold, "float32")
    return labels, mask


INFERENCE_BATCH = 256
"""Examples per step of the streaming passes that only predict (as ``tfexp.data.predict``)."""


def probabilities(model, x) -> np.ndarray:
    """Class probabilities of a logits model on one batch (inference mode: no dropout,
    no augmentation)."""
    import keras

    return keras.ops.convert_to_numpy(keras.ops.softmax(model(x, training=False), axis=-1))


def predictions(model, batches, align=None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(confidence, predicted class, label)`` per example of ``batches`` of ``(x, y)``: one
    streaming pass keeping three numbers per example; ``align`` maps the probabilities first."""
    confidences, predicted, labels = [], [], []
    for x, y in batches:
        probs = probabilities(model, x)
        probs = probs if align is None else np.asarray(align(probs))
        confidences.append(probs.max(axis=-1))
        predicted.append(probs.argmax(axis=-1))
        labels.append(np.asarray(y).reshape(-1))
    return tuple(np.concatenate(a) for a in (confidences, predicted, labels))


def curriculum_thresholds(model, batches, share: float, num_classes: int) -> np.ndarray:
    """Per class, the confidence of the most confident ``share`` of the pool examples the
    model predicts as that class (inf where it predicts none): as thresholds, they accept
    each class's top ``share``, so no class gets in on confidence alone (one streaming
    pass over ``batches`` of ``(x, hidden_y)``)."""
    confidence, predicted, _ = predictions(model, batches)
    thresholds = np.full(num_classes, np.inf, dtype="float32")
    for c in range(num_classes):
        mine = np.sort(confidence[predicted == c])[::-1]
        if keep := int(np.ceil(share * len(mine))):
            thresholds[c] = mine[keep - 1]
    return thresholds


MIN_VALIDATED = 10
"""Validation predictions a class needs at or above its threshold before their precision counts."""


def validated_thresholds(model, batches, precision: float, floor, num_classes: int, align=None) -> np.ndarray:
    """Per class, the lowest confidence, at least ``floor`` (a number or one per class), at
    which the model's predictions of that class on ``batches`` of labeled ``(x, y)`` (the
    validation split) are right at least ``precision`` of the time, over at least
    :data:`MIN_VALIDATED` of them; inf where no confidence is: that class gets no
    pseudo-labels until the model earns them, so a weak model stops teaching itself its
    mistakes. ``align`` maps the probabilities first, as it does for the pool."""
    confidence, predicted, truth = predictions(model, batches, align)
    floor = np.broadcast_to(np.asarray(floor, dtype="float32"), (num_classes,))
    thresholds = np.full(num_classes, np.inf, dtype="float32")
    for c in range(num_classes):
        mine = (predicted == c) & (confidence >= floor[c])
        order = np.argsort(-confidence[mine], kind="stable")
        ranked, right = confidence[mine][order], (truth[mine] == c)[order]
        count = np.arange(1, len(ranked) + 1)
        cut = np.append(ranked[1:] < ranked[:-1], True)  # a threshold admits every tie of its confidence
        passing = np.flatnonzero((np.cumsum(right) >= precision * count) & (count >= MIN_VALIDATED) & cut)
        if len(passing):
            thresholds[c] = ranked[passing[-1]]
    return thresholds


def metric_safe(name: str) -> str:
    """A class name usable in an MLflow metric key."""
    return re.sub(r"[^0-9A-Za-z_.\- ]", "_", name)


class PseudoLabelTally:
    """Diagnostics of the pseudo-labels a model would give the pool, counted batch by batch.

    :meth:`stats`: ``accepted`` and ``mask_rate`` (share above the threshold), ``accuracy``
    of the accepted ones against the hidden labels (absent when none is accepted),
    ``pool_accuracy`` of every prediction, ``count_<class>`` per class among the accepted,
    and with a threshold per class, ``open_classes``: how many can be accepted at all."""

    def __init__(self, threshold, class_names):
        from keras import ops

        self.threshold = threshold if np.isscalar(threshold) else np.asarray(ops.convert_to_numpy(threshold))
        self.class_names = list(class_names)
        self.seen = self.correct = self.accepted_correct = 0
        self.counts = np.zeros(len(self.class_names), int)

    def add(self, probs, hidden_y) -> tuple[np.ndarray, np.ndarray]:
        """Count one batch; its ``(labels, accepted)``: the pseudo-labels and where they pass."""
        from keras import ops

        labels, mask = (ops.convert_to_numpy(t) for t in confident_pseudo_labels(probs, self.threshold))
        accepted = mask.astype(bool)
        correct = labels == np.asarray(hidden_y)
        self.seen += len(labels)
        self.correct += int(correct.sum())
        self.accepted_correct += int(correct[accepted].sum())
        self.counts += np.bincount(labels[accepted], minlength=len(self.class_names))
        return labels, accepted

    def stats(self) -> dict[str, float]:
        accepted = int(self.counts.sum())
        stats = {"accepted": float(accepted), "mask_rate": accepted / self.seen, "pool_accuracy": self.correct / self.seen}
        if accepted:
            stats["accuracy"] = self.accepted_correct / accepted
        stats.update({f"count_{metric_safe(name)}": float(n) for name, n in zip(self.class_names, self.counts)})
        if not np.isscalar(self.threshold):
            stats["open_classes"] = float(np.isfinite(self.threshold).sum())
        return stats


def pool_stats(model, batches, threshold, class_names, align=None) -> dict[str, float]:
    """The tally of ``model``'s pseudo-labels over ``batches`` of ``(x, hidden_y)``: one
    streaming pass; ``align`` maps the probabilities first (FixMatch's distribution alignment)."""
    tally = PseudoLabelTally(threshold, class_names)
    for x, hidden_y in batches:
        probs = probabilities(model, x)
        tally.add(probs if align is None else np.asarray(align(probs)), hidden_y)
    return tally.stats()
