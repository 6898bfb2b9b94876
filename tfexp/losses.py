"""Losses and loss metrics for every strategy's loop.

:class:`SmoothedSparseCrossentropy`: sparse categorical cross-entropy with label smoothing
and class weights. Keras 3.15's ``SparseCategoricalCrossentropy`` has no
``label_smoothing`` (only the one-hot ``CategoricalCrossentropy`` has), and
``fit(class_weight=...)`` reaches only the stages whose batches are plain ``(inputs,
labels)``: a loss that weighs each example by its class applies wherever a technique uses
the compiled loss (a Distiller's hard-label term too), in every strategy's loop.

:class:`LossMean`: the mean of a loss a technique's ``train_step`` computed, the same on one
device and on N replicas.
"""

from __future__ import annotations

import keras
from keras import ops


@keras.saving.register_keras_serializable(package="tfexp")
class SmoothedSparseCrossentropy(keras.losses.Loss):
    """Integer labels, logits; ``label_smoothing`` spreads that share of the target over
    all classes; ``class_weights`` (one per class) weigh each example by its label."""

    def __init__(self, num_classes: int, label_smoothing: float = 0.0, class_weights=None, name="smoothed_sparse_crossentropy", **kwargs):
        super().__init__(name=name, **kwargs)
        self.num_classes = int(num_classes)
        self.label_smoothing = float(label_smoothing)
        self.class_weights = None if class_weights is None else [float(w) for w in class_weights]

    def call(self, y_true, y_pred):
        labels = ops.cast(ops.reshape(y_true, (-1,)), "int32")
        per_example = keras.losses.categorical_crossentropy(
            ops.one_hot(labels, self.num_classes), y_pred, from_logits=True, label_smoothing=self.label_smoothing,
        )
        if self.class_weights is not None:
            per_example = per_example * ops.take(ops.convert_to_tensor(self.class_weights, dtype=per_example.dtype), labels)
        return per_example

    def get_config(self):
        return {**super().get_config(), "num_classes": self.num_classes, "label_smoothing": self.label_smoothing, "class_weights": self.class_weights}


class LossMean(keras.metrics.Mean):
    """Under tf.distribute, Keras divides each replica's loss by the number of replicas
    (their gradients are summed); this mean records the loss of the replica's own batch, as
    on one device. (Keras 3.15's Distiller records the divided share: half on two replicas.)"""

    def update_state(self, values, sample_weight=None):
        import tensorflow as tf

        return super().update_state(values * tf.distribute.get_strategy().num_replicas_in_sync, sample_weight)
