"""``method=fixmatch``: a confident weak-view prediction becomes the target of the strong view.

Imported lazily (it subclasses ``keras.Model``). The run's classifier is trained through
a wrapper whose ``train_step`` sees ``((x_labeled, y_labeled), x_unlabeled)``: the
unlabeled batches carry no labels at all, and their pseudo-labels are computed in the step,
batch by batch, from the weak view.
"""

from __future__ import annotations

import math

import keras
import numpy as np
from keras import ops

from tfexp.losses import LossMean
from tfexp_semisup.augment import augmenters
from tfexp_semisup.pseudo_labels import INFERENCE_BATCH, confident_pseudo_labels, pool_stats, validated_thresholds


def consistency_loss(logits_strong, probs_weak, threshold):
    """``(loss, mask)``: cross-entropy of the strong view against the weak view's confident
    arg-max, averaged over *all* unlabeled examples (unconfident ones count as 0). A Keras
    loss: under tf.distribute it is each replica's share, like the labeled term."""
    labels, mask = confident_pseudo_labels(probs_weak, threshold)
    return keras.losses.SparseCategoricalCrossentropy(from_logits=True)(labels, logits_strong, sample_weight=mask), mask


class DistributionAlignment(keras.layers.Layer):
    """ReMixMatch's distribution alignment (Berthelot et al. 2020): the weak view's class
    probabilities times (class marginal of the labeled batches) / (mean prediction on the
    pool), renormalized; both are running means over about ``1 / (1 - momentum)`` steps. A
    class the model over-predicts on the pool loses confidence until the pool's predicted
    marginal matches the labels', so the pseudo-labels cannot pile onto one class."""

    def __init__(self, num_classes: int, momentum: float = 0.99, **kwargs):
        super().__init__(**kwargs)
        self.num_classes, self.momentum = num_classes, momentum
        uniform = keras.initializers.Constant(1.0 / num_classes)
        # aggregation: each replica updates them in its step; the mirrored value is the mean
        self.pool_mean = self.add_weight(shape=(num_classes,), initializer=uniform, trainable=False, aggregation="mean", name="pool_mean")
        self.label_mean = self.add_weight(shape=(num_classes,), initializer=uniform, trainable=False, aggregation="mean", name="label_mean")
        self.built = True  # its state exists from here: checkpoints restore it before any call

    def update(self, probs_unlabeled, y_labeled) -> None:
        for mean, batch in ((self.pool_mean, ops.mean(probs_unlabeled, axis=0)),
                            (self.label_mean, ops.mean(ops.one_hot(ops.reshape(y_labeled, (-1,)), self.num_classes), axis=0))):
            mean.assign(self.momentum * mean + (1 - self.momentum) * ops.cast(batch, mean.dtype))

    def call(self, probs):
        aligned = probs * ops.cast(self.label_mean / self.pool_mean, probs.dtype)
        return aligned / ops.sum(aligned, axis=-1, keepdims=True)


class FixMatch(keras.Model):
    """Trains ``classifier`` (shared weights) with FixMatch; validates it as is. The labeled
    term is ``labeled_loss`` (the classifier's compiled loss: ``trainer.label_smoothing`` and
    ``trainer.class_weight`` apply to it). With ``align`` (a :class:`DistributionAlignment`)
    the threshold and the targets read the aligned weak-view probabilities. ``threshold``: a
    number, or a variable with one per class that :class:`ValidatedThresholds` sets."""

    def __init__(self, classifier, weak, strong, threshold, lambda_u: float, labeled_loss=None, align=None):
        super().__init__(name="fixmatch")
        self.classifier, self.weak, self.strong = classifier, weak, strong
        self.labeled_loss = labeled_loss or keras.losses.SparseCategoricalCrossentropy(from_logits=True)
        self.threshold, self.lambda_u, self.align = threshold, lambda_u, align
        self.loss_tracker = LossMean(name="loss")  # the same on one device and on N replicas
        self.accuracy_tracker = keras.metrics.SparseCategoricalAccuracy(name="accuracy")
        self.labeled_loss_tracker = LossMean(name="labeled_loss")
        self.unlabeled_loss_tracker = LossMean(name="unlabeled_loss")
        self.mask_rate_tracker = keras.metrics.Mean(name="mask_rate")
        self.accepted_tracker = keras.metrics.Sum(name="accepted")
        # Its parts arrive built. Under tf.distribute, fit() would otherwise build an unbuilt
        # model by calling it on the first batch's x, here (x_labeled, y_labeled).
        self.built = True

    @property
    def metrics(self):
        return [self.loss_tracker, self.accuracy_tracker, self.labeled_loss_tracker,
                self.unlabeled_loss_tracker, self.mask_rate_tracker, self.accepted_tracker]

    def call(self, inputs, training=False):
        return self.classifier(inputs, training=training)

    def train_step(self, data):
        import tensorflow as tf

        (x_labeled, y_labeled), x_unlabeled = data
        n_labeled, n_unlabeled = ops.shape(x_labeled)[0], ops.shape(x_unlabeled)[0]
        views = ops.concatenate(
            [self.weak(x_labeled, training=True), self.weak(x_unlabeled, training=True), self.strong(x_unlabeled, training=True)], axis=0
        )
        variables = self.classifier.trainable_variables
        with tf.GradientTape() as tape:
            logits = self.classifier(views, training=True)  # one pass, as in the paper
            logits_labeled = logits[:n_labeled]
            logits_weak = logits[n_labeled : n_labeled + n_unlabeled]
            logits_strong = logits[n_labeled + n_unlabeled :]
            labeled_loss = self.labeled_loss(y_labeled, logits_labeled)
            probs_weak = ops.softmax(ops.stop_gradient(logits_weak), axis=-1)
            if self.align is not None:
                self.align.update(probs_weak, y_labeled)
                probs_weak = self.align(probs_weak)
            unlabeled_loss, mask = consistency_loss(logits_strong, probs_weak, self.threshold)
            loss = labeled_loss + self.lambda_u * unlabeled_loss
        self.optimizer.apply(tape.gradient(loss, variables), variables)
        self.loss_tracker.update_state(loss)
        self.accuracy_tracker.update_state(y_labeled, logits_labeled)
        self.labeled_loss_tracker.update_state(labeled_loss)
        self.unlabeled_loss_tracker.update_state(unlabeled_loss)
        self.mask_rate_tracker.update_state(ops.mean(mask))
        self.accepted_tracker.update_state(ops.sum(mask))
        return {m.name: m.result() for m in self.metrics}

    def test_step(self, data):
        x, y = data
        logits = self.classifier(x, training=False)
        self.loss_tracker.update_state(keras.losses.SparseCategoricalCrossentropy(from_logits=True)(y, logits))
        self.accuracy_tracker.update_state(y, logits)
        return {m.name: m.result() for m in (self.loss_tracker, self.accuracy_tracker)}


class ValidatedThresholds(keras.callbacks.Callback):
    """Before each epoch, sets ``thresholds`` (the variable the training step reads, one per
    class) from the classifier's predictions on the validation ``batches``, through the
    alignment as the step sees them (:func:`validated_thresholds`): a class is pseudo-labeled
    only while its confident predictions there are right at least ``precision`` of the time."""

    def __init__(self, classifier, batches, precision: float, floor: float, thresholds, align=None):
        super().__init__()
        self.classifier, self.batches, self.precision, self.floor = classifier, batches, precision, floor
        self.thresholds, self.align = thresholds, align

    def on_epoch_begin(self, epoch, logs=None):
        num_classes = self.thresholds.shape[0]
        self.thresholds.assign(validated_thresholds(self.classifier, self.batches, self.precision, self.floor, num_classes, self.align))


class PoolDiagnostics(keras.callbacks.Callback):
    """Adds ``pseudo/*`` to each epoch's logs: what the classifier would pseudo-label in
    ``batches`` of the pool right now, checked against the hidden labels (a diagnostic,
    never a target), through the training step's distribution ``align``ment if any. Put it
    before the callback that records the logs."""

    def __init__(self, classifier, batches, threshold, class_names, align=None):
        super().__init__()
        self.classifier, self.batches, self.threshold, self.class_names, self.align = classifier, batches, threshold, class_names, align

    def on_epoch_end(self, epoch, logs=None):
        if logs is not None:
            stats = pool_stats(self.classifier, self.batches, self.threshold, self.class_names, self.align)
            logs.update({f"pseudo/{k}": v for k, v in stats.items()})


def fixmatch_dataset(labeled, pool):
    """Endless ``((x_labeled, y_labeled), x_unlabeled)`` from batches of the labeled view
    and of the pool (whose hidden labels are dropped here); both streams repeat."""
    import tensorflow as tf

    return tf.data.Dataset.zip((labeled.repeat(), pool.map(lambda x, hidden_y: x).repeat()))


def train_fixmatch(run, model, labeled, pool, callbacks, cfg) -> None:
    """An epoch is one pass over the unlabeled pool (or ``trainer.steps_per_epoch`` steps);
    the ``pseudo/*`` diagnostics look at the pool's first ``technique.diagnostic_examples``."""
    t = run.cfg.trainer
    spec = labeled.spec
    with run.strategy.scope():
        weak, strong = augmenters(spec.input_shape, cfg.augment)
        align = DistributionAlignment(spec.num_outputs) if cfg.distribution_alignment else None
        threshold = cfg.threshold
        if cfg.precision is not None:  # every class closed until the first epoch's check opens it
            threshold = keras.Variable(np.full(spec.num_outputs, np.inf, "float32"), trainable=False, name="thresholds")
        trainer = FixMatch(model, weak, strong, threshold, cfg.lambda_u, labeled_loss=model.loss, align=align)
        # The run's model's own optimizer: the checkpoints hold the model with it (and the
        # alignment means the stage carries), not the wrapper.
        trainer.compile(optimizer=model.optimizer)
    seen = run.dataset("train", data=pool, batch_size=INFERENCE_BATCH)
    if cfg.diagnostic_examples is not None:
        seen = seen.unbatch().take(cfg.diagnostic_examples).batch(INFERENCE_BATCH)
    validation = run.dataset("val", data=labeled)
    gate = [] if cfg.precision is None else [ValidatedThresholds(model, validation, cfg.precision, cfg.threshold, threshold, align)]
    diagnostics = PoolDiagnostics(model, seen, threshold, spec.class_names, align)
    run.fit(
        trainer, stage="fixmatch", saves=model, carries={"alignment": align} if align else None, prefix="",
        train=fixmatch_dataset(
            run.dataset("train", training=True, data=labeled),
            run.dataset("train", training=True, data=pool, batch_size=cfg.mu * t.batch_size),
        ),
        val=validation,
        steps_per_epoch=t.steps_per_epoch or math.ceil(pool.spec.size("train") / (cfg.mu * t.batch_size)),
        callbacks=[*gate, diagnostics, *callbacks],
    )
