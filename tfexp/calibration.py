"""Expected calibration error (ECE): how far a classifier's confidence is from its accuracy.

Every multiclass run logs it: ``val_ece`` per epoch of every stage (a callback the core adds
in ``run.fit``), ``test_ece`` beside the test metrics, and ``<prefix>test_ece`` for what a
technique evaluates itself (a teacher, a baseline). It is computed from running sums over 10
equal-width confidence bins (count, summed confidence, summed correctness), so it is exact
over a whole split while holding 30 numbers, however large the split.

It is not a compiled Keras metric on purpose: a metric class in the compile config would make
every saved model (MLflow's ``model``, the exported ``model.keras``, ``mlflow models serve``)
unloadable without importing tfexp. The price is one extra inference pass over the validation
batches per epoch (traced once per stage: about 7% of an epoch on digits).
"""

from __future__ import annotations

import keras
import numpy as np

from tfexp.classification import softmax

BINS = 10


class CalibrationBins:
    """Running per-bin sums of confidence and correctness of class predictions."""

    def __init__(self, bins: int = BINS):
        self.count, self.confidence, self.correct = np.zeros(bins), np.zeros(bins), np.zeros(bins)

    def add(self, probabilities: np.ndarray, labels: np.ndarray) -> None:
        bins = len(self.count)
        confidence = probabilities.max(axis=-1)
        correct = probabilities.argmax(axis=-1) == np.asarray(labels).reshape(-1)
        which = np.minimum((confidence * bins).astype(int), bins - 1)  # [k/bins, (k+1)/bins), 1.0 in the last
        self.count += np.bincount(which, minlength=bins)
        self.confidence += np.bincount(which, weights=confidence, minlength=bins)
        self.correct += np.bincount(which, weights=correct, minlength=bins)

    def error(self) -> float:
        """Sum over bins of ``|accuracy - mean confidence|`` weighted by the bin's share."""
        return float(np.abs(self.confidence - self.correct).sum() / max(self.count.sum(), 1))


def expected_calibration_error(probabilities: np.ndarray, labels: np.ndarray, bins: int = BINS) -> float:
    tally = CalibrationBins(bins)
    tally.add(np.asarray(probabilities), labels)
    return tally.error()


def batches_ece(logits_of, batches, num_classes: int) -> float | None:
    """ECE of the logits ``logits_of(inputs)`` (a model in inference mode) over ``batches`` of
    ``(inputs, labels[, weights])``, one streaming pass; None when the batches do not hold
    class labels for ``num_classes`` logits (e.g. an autoencoder's ``(x, x)``)."""
    tally = CalibrationBins()
    for batch in batches:
        x, y = batch[0], np.asarray(batch[1])
        if y.dtype.kind not in "iu" or y.size != len(y):
            return None
        logits = np.asarray(logits_of(x))
        if logits.ndim != 2 or logits.shape[-1] != num_classes:
            return None
        tally.add(softmax(logits), y)
    return tally.error() if tally.count.sum() else None


class ValidationCalibration(keras.callbacks.Callback):
    """Adds ``val_ece`` over ``val`` to the logs of every epoch that was validated."""

    def __init__(self, val, num_classes: int):
        super().__init__()
        self.val, self.num_classes = val, num_classes

    def on_train_begin(self, logs=None):
        """A graph of the model's inference, traced once per stage: called eagerly batch by
        batch, the pass took as long as a whole epoch of digits; traced, about 7% of one."""
        import tensorflow as tf

        model = self.model
        self.logits_of = tf.function(lambda x: model(x, training=False), reduce_retracing=True, autograph=False)

    def on_epoch_end(self, epoch, logs=None):
        if logs is not None and any(k.startswith("val_") for k in logs):
            ece = batches_ece(self.logits_of, self.val, self.num_classes)
            if ece is not None:
                logs["val_ece"] = ece


def calibration_callbacks(run, val) -> list[keras.callbacks.Callback]:
    """``val_ece`` for a stage validated on ``val`` when the run's data is multiclass."""
    spec = run.data.spec if run.data is not None else None
    return [ValidationCalibration(val, spec.num_outputs)] if spec is not None and spec.task == "multiclass" else []
