"""What shapes training: the positive-weighted loss and the per-epoch validation F1.

``pos_weight=auto`` weights positives per label: rare labels otherwise contribute almost
only negatives to the loss, and the network learns to never predict them. Imports Keras:
load this module lazily.
"""

from __future__ import annotations

from typing import Iterable

import keras
import numpy as np
from keras import ops


def auto_pos_weight(label_batches: Iterable) -> np.ndarray:
    """negatives / positives per label in the train split (a label never seen positive: n),
    counted batch by batch in one streaming pass (``y for _, y in run.dataset("train")``)."""
    positives, count = 0.0, 0
    for y in label_batches:
        y = np.asarray(y)
        positives, count = positives + y.sum(axis=0), count + len(y)
    return (count - positives) / np.maximum(positives, 1)


@keras.saving.register_keras_serializable(package="tfexp_multilabel")
class WeightedBinaryCrossentropy(keras.losses.Loss):
    """``pos_weight * y * -log(sigmoid(x)) + (1 - y) * -log(1 - sigmoid(x))``, mean over labels
    (``tf.nn.weighted_cross_entropy_with_logits``; all weights 1 is plain BCE)."""

    def __init__(self, pos_weight, name: str = "weighted_binary_crossentropy", **kwargs):
        super().__init__(name=name, **kwargs)
        self.pos_weight = [float(w) for w in pos_weight]

    def call(self, y_true, y_pred):
        y = ops.cast(y_true, y_pred.dtype)
        weight = ops.convert_to_tensor(self.pos_weight, dtype=y_pred.dtype)
        per_label = (1 - y) * y_pred + (1 + (weight - 1) * y) * ops.softplus(-y_pred)
        return ops.mean(per_label, axis=-1)

    def get_config(self):
        return {**super().get_config(), "pos_weight": self.pos_weight}


class ValidationF1(keras.callbacks.Callback):
    """Adds ``val_micro_f1`` and ``val_macro_f1`` at the fixed threshold to each epoch's logs.

    Computed with scikit-learn on the whole validation split, from one streaming pass
    that keeps outputs and labels, like the test metrics (a Keras metric would average
    per batch, and a custom one would make the exported model unloadable without this
    plugin). Runs before tfexp's callback, which logs them."""

    def __init__(self, data, threshold: float, batch_size: int):
        super().__init__()
        self.data, self.threshold, self.batch_size = data, threshold, batch_size

    def on_epoch_end(self, epoch, logs=None):
        from sklearn.metrics import f1_score

        from tfexp.data import predict
        from tfexp_multilabel.metrics import predict_labels

        logits, y_val = predict(self.model, self.data, "val", batch_size=self.batch_size)
        decisions = predict_labels(ops.convert_to_numpy(ops.sigmoid(logits)), self.threshold)
        for average in ("micro", "macro"):
            logs[f"val_{average}_f1"] = f1_score(y_val.astype("int32"), decisions, average=average, zero_division=0)
