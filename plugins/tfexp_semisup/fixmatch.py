"""``method=fixmatch``: a confident weak-view prediction becomes the target of the strong view.

Imported lazily (it subclasses ``keras.Model``). The run's classifier is trained through
a wrapper whose ``train_step`` sees ``((x_labeled, y_labeled), x_unlabeled)``: the
unlabeled batches carry no labels at all, and their pseudo-labels are computed in the step,
batch by batch, from the weak view.
"""

from __future__ import annotations

import math

import keras
from keras import ops

from tfexp_semisup.augment import augmenters
from tfexp_semisup.pseudo_labels import INFERENCE_BATCH, confident_pseudo_labels, pool_stats


def consistency_loss(logits_strong, probs_weak, threshold: float):
    """``(loss, mask)``: cross-entropy of the strong view against the weak view's confident
    arg-max, averaged over *all* unlabeled examples (unconfident ones count as 0)."""
    labels, mask = confident_pseudo_labels(probs_weak, threshold)
    per_example = keras.losses.sparse_categorical_crossentropy(labels, logits_strong, from_logits=True)
    return ops.mean(per_example * mask), mask


class FixMatch(keras.Model):
    """Trains ``classifier`` (shared weights) with FixMatch; validates it as is. The labeled
    term is ``labeled_loss`` (the classifier's compiled loss: ``trainer.label_smoothing`` and
    ``trainer.class_weight`` apply to it)."""

    def __init__(self, classifier, weak, strong, threshold: float, lambda_u: float, labeled_loss=None):
        super().__init__(name="fixmatch")
        self.classifier, self.weak, self.strong = classifier, weak, strong
        self.labeled_loss = labeled_loss or keras.losses.SparseCategoricalCrossentropy(from_logits=True)
        self.threshold, self.lambda_u = threshold, lambda_u
        self.loss_tracker = keras.metrics.Mean(name="loss")
        self.accuracy_tracker = keras.metrics.SparseCategoricalAccuracy(name="accuracy")
        self.labeled_loss_tracker = keras.metrics.Mean(name="labeled_loss")
        self.unlabeled_loss_tracker = keras.metrics.Mean(name="unlabeled_loss")
        self.mask_rate_tracker = keras.metrics.Mean(name="mask_rate")
        self.accepted_tracker = keras.metrics.Sum(name="accepted")

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
        self.loss_tracker.update_state(ops.mean(keras.losses.sparse_categorical_crossentropy(y, logits, from_logits=True)))
        self.accuracy_tracker.update_state(y, logits)
        return {m.name: m.result() for m in (self.loss_tracker, self.accuracy_tracker)}


class PoolDiagnostics(keras.callbacks.Callback):
    """Adds ``pseudo/*`` to each epoch's logs: what the classifier would pseudo-label in
    ``batches`` of the pool right now, checked against the hidden labels (a diagnostic,
    never a target). Put it before the callback that records the logs."""

    def __init__(self, classifier, batches, threshold: float, class_names):
        super().__init__()
        self.classifier, self.batches, self.threshold, self.class_names = classifier, batches, threshold, class_names

    def on_epoch_end(self, epoch, logs=None):
        if logs is not None:
            stats = pool_stats(self.classifier, self.batches, self.threshold, self.class_names)
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
        trainer = FixMatch(model, weak, strong, cfg.threshold, cfg.lambda_u, labeled_loss=model.loss)
        # The run's model's own optimizer: the checkpoints hold the model with it, not the wrapper.
        trainer.compile(optimizer=model.optimizer)
    seen = run.dataset("train", data=pool, batch_size=INFERENCE_BATCH)
    if cfg.diagnostic_examples is not None:
        seen = seen.unbatch().take(cfg.diagnostic_examples).batch(INFERENCE_BATCH)
    diagnostics = PoolDiagnostics(model, seen, cfg.threshold, spec.class_names)
    run.fit(
        trainer, stage="fixmatch", saves=model, prefix="",
        train=fixmatch_dataset(
            run.dataset("train", training=True, data=labeled),
            run.dataset("train", training=True, data=pool, batch_size=cfg.mu * t.batch_size),
        ),
        val=run.dataset("val", data=labeled),
        steps_per_epoch=t.steps_per_epoch or math.ceil(pool.spec.size("train") / (cfg.mu * t.batch_size)),
        callbacks=[diagnostics, *callbacks],
    )
