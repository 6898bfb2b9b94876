"""``trainer.*`` options turned into Keras pieces, once, for every technique's stages.

The optimizer (weight decay, gradient clipping) and the classification loss (label
smoothing, class weights) come from :func:`optimizer` and :func:`classification_loss`
through ``compile_kwargs_for``, so every model a technique compiles gets them; the
learning-rate schedule and early stopping are callbacks :func:`stage_callbacks` gives every
``run.fit`` stage (tfexp/stages.py), so each stage follows its own epochs and data.

Schedules are Keras' own (``CosineDecay`` with ``warmup_target``, ``ExponentialDecay``,
``ReduceLROnPlateau``), evaluated at the fractional epoch of every batch: a stage's length
in steps is only known once its data is batched, and a schedule stated in epochs continues
correctly after ``resume=`` (the epoch index is restored, the step count is not needed).
"""

from __future__ import annotations

import logging
from typing import Any

import keras
import numpy as np

from tfexp.errors import ConfigError

log = logging.getLogger("tfexp")


def optimizer(run) -> keras.optimizers.Optimizer:
    """``trainer.optimizer`` at ``trainer.learning_rate`` with the weight decay and the
    gradient clipping of ``trainer``."""
    t = run.cfg.trainer
    config: dict[str, Any] = {"learning_rate": t.learning_rate}
    for key in ("weight_decay", "clipnorm", "global_clipnorm", "clipvalue"):
        if t.get(key) is not None:
            config[key] = t[key]
    try:
        return keras.optimizers.get({"class_name": t.optimizer, "config": config})
    except ValueError:
        raise ConfigError(
            f"trainer.optimizer={t.optimizer!r} is not a Keras optimizer; use one of adam, adamw, sgd, rmsprop, nadam, adagrad"
        ) from None


def classification_loss(run, num_classes: int):
    """Sparse categorical cross-entropy on logits, with ``trainer.label_smoothing`` and
    ``trainer.class_weight``; Keras' own loss when neither is set."""
    t = run.cfg.trainer
    weights = class_weights(run, num_classes)
    if not t.label_smoothing and weights is None:
        return keras.losses.SparseCategoricalCrossentropy(from_logits=True)
    from tfexp.losses import SmoothedSparseCrossentropy

    return SmoothedSparseCrossentropy(num_classes, label_smoothing=t.label_smoothing, class_weights=weights)


def check_task(run, task: str) -> None:
    """Label smoothing and class weights need class labels: fail on other tasks."""
    t = run.cfg.trainer
    for key, unset in (("label_smoothing", 0.0), ("class_weight", None)):
        if task != "multiclass" and t.get(key, unset) != unset:
            raise ConfigError(f"trainer.{key}={t[key]} applies to multiclass data (categorical cross-entropy); this run's data is {task}: remove trainer.{key}")


def class_weights(run, num_classes: int) -> list[float] | None:
    """``trainer.class_weight``: null, a list with one weight per class, or ``auto``: the
    training split's label counts (one streaming pass, kept for the run) weighted like
    scikit-learn's ``balanced``, ``n / (classes * count)`` (a class with no example: 1)."""
    setting = run.cfg.trainer.get("class_weight")
    if setting is None:
        return None
    if setting != "auto":
        weights = [float(w) for w in setting]
        if len(weights) != num_classes:
            raise ConfigError(f"trainer.class_weight has {len(weights)} weights but the data has {num_classes} classes; give one per class, or use trainer.class_weight=auto")
        return weights
    if "class_weights" not in run.info:
        from tfexp.data.reading import label_counts

        counts = label_counts(run.data, "train", num_classes)
        balanced = counts.sum() / (num_classes * np.maximum(counts, 1))
        run.info["class_weights"] = [float(w) if c else 1.0 for w, c in zip(balanced, counts)]
        log.info("trainer.class_weight=auto: label counts %s -> weights %s", counts.tolist(), [round(w, 3) for w in run.info["class_weights"]])
    return run.info["class_weights"]


def stage_callbacks(run, stage: str, prefix: str, first_epoch: int = 0) -> list[keras.callbacks.Callback]:
    """The learning-rate schedule and early stopping of ``trainer``, fresh for one stage
    whose epochs are numbered from ``first_epoch``."""
    t = run.cfg.trainer
    callbacks: list[keras.callbacks.Callback] = []
    schedule = t.lr_schedule
    if schedule.name == "plateau":
        callbacks.append(keras.callbacks.ReduceLROnPlateau(monitor=schedule.monitor, factor=schedule.decay_rate, patience=schedule.patience, min_lr=schedule.min_lr))
    elif schedule.name != "constant":
        callbacks.append(EpochSchedule(run, first_epoch))
    if t.early_stopping.monitor:
        callbacks.append(EarlyStop(run, stage, prefix))
    return callbacks


def keras_schedule(run, epochs: int) -> keras.optimizers.schedules.LearningRateSchedule:
    """``trainer.lr_schedule`` as a Keras schedule whose step unit is one epoch of a stage
    that trains ``epochs`` epochs."""
    t, s = run.cfg.trainer, run.cfg.trainer.lr_schedule
    schedules = keras.optimizers.schedules
    if s.name == "cosine":
        decay = max(epochs - s.warmup_epochs, 1e-9)
        if s.warmup_epochs:
            return schedules.CosineDecay(0.0, decay, alpha=s.min_lr / t.learning_rate, warmup_target=t.learning_rate, warmup_steps=s.warmup_epochs)
        return schedules.CosineDecay(t.learning_rate, decay, alpha=s.min_lr / t.learning_rate)
    return schedules.ExponentialDecay(t.learning_rate, s.decay_epochs, s.decay_rate, staircase=s.name == "step")


class EpochSchedule(keras.callbacks.Callback):
    """Sets the optimizer's learning rate before every batch from :func:`keras_schedule` at
    the stage's fractional epoch ``epoch - first_epoch + batch / steps`` (whole epochs while
    the number of steps is unknown: the first epoch of a stream)."""

    def __init__(self, run, first_epoch: int = 0):
        super().__init__()
        self.run, self.first_epoch = run, first_epoch
        self.epoch = 0
        self.scale, self.last = 1.0, None

    def on_train_begin(self, logs=None):
        """Also when the stage retries after a NaN: ``trainer.nan_recovery`` halved the rate
        it failed with, and the schedule keeps that factor from then on."""
        from tfexp.callbacks import learning_rate

        if self.last:
            self.scale *= learning_rate(self.model.optimizer) / self.last
        self.schedule = keras_schedule(self.run, self.params["epochs"] - self.first_epoch)

    def on_epoch_begin(self, epoch, logs=None):
        self.epoch = epoch - self.first_epoch

    def on_train_batch_begin(self, batch, logs=None):
        steps = self.params.get("steps")
        position = self.epoch + (batch / steps if steps else 0.0)
        self.last = self.scale * float(self.schedule(position))
        self.model.optimizer.learning_rate = self.last


class EarlyStop(keras.callbacks.EarlyStopping):
    """Keras' ``EarlyStopping`` on ``trainer.early_stopping``, which also records where it
    stopped: ``<prefix>early_stopping/stopped_epoch`` and ``best_epoch`` metrics, a summary
    line, and the best epoch's metrics as the ones ``run.metric`` (the sweep objective)
    reads when the best weights are restored. Its state goes into every checkpoint
    (``run.info["early_stopping"]``, read by tfexp/checkpoint.py), so a stage resumed or
    recovered from NaN counts patience on from there, with the best weights it had."""

    def __init__(self, run, stage: str, prefix: str):
        e = run.cfg.trainer.early_stopping
        super().__init__(monitor=e.monitor, patience=e.patience, min_delta=e.min_delta, mode=e.mode, restore_best_weights=e.restore_best_weights)
        self.run, self.stage, self.prefix = run, stage, prefix
        self.best_logs: dict[str, float] = {}
        self.warned = False

    def on_train_begin(self, logs=None):
        from tfexp.checkpoint import CheckpointState, read_best_weights

        super().on_train_begin(logs)
        state = CheckpointState.read(self.run.output_dir)
        if state and state.stage == self.stage and state.epoch + 1 == self.run.initial_epoch and state.early_stopping:
            saved = state.early_stopping
            self.best, self.best_epoch, self.wait, self.best_logs = saved["best"], saved["best_epoch"], saved["wait"], saved["best_logs"]
            self.best_weights = read_best_weights(state)
        self.publish()

    def on_epoch_end(self, epoch, logs=None):
        before = self.best_epoch
        super().on_epoch_end(epoch, logs)
        if self.best_epoch != before or not self.best_logs:
            self.best_logs = {f"{self.prefix}{k}": float(v) for k, v in (logs or {}).items()}
        self.publish()

    def publish(self):
        """What the next checkpoint of the stage keeps (it runs after this callback)."""
        self.run.info["early_stopping"] = {"stage": self.stage, "best": None if self.best is None else float(self.best),
                                           "best_epoch": self.best_epoch, "wait": self.wait, "best_logs": self.best_logs,
                                           "weights": self.best_weights}

    def get_monitor_value(self, logs):
        value = (logs or {}).get(self.monitor)
        if value is None and not self.warned:
            self.warned = True
            log.warning("trainer.early_stopping.monitor=%s is not a metric of stage %r (it has %s): no early stopping there",
                        self.monitor, self.stage or "train", ", ".join(sorted(logs or {})))
        return value

    def on_train_end(self, logs=None):
        super().on_train_end(logs)
        if self.best_weights is None:
            return  # the monitor never appeared
        last = self.stopped_epoch if self.stopped_epoch > 0 else self.params["epochs"] - 1
        self.run.log_metrics({f"{self.prefix}early_stopping/stopped_epoch": last, f"{self.prefix}early_stopping/best_epoch": self.best_epoch}, step=last)
        if self.restore_best_weights:
            self.run.restored_metrics.update(self.best_logs)
        if self.stopped_epoch > 0:
            self.run.summary.append(f"early stopping{' in ' + self.stage if self.stage else ''}: stopped after epoch {self.stopped_epoch + 1}, "
                                    f"best {self.monitor}={self.best:.4g} at epoch {self.best_epoch + 1}" + (" (weights restored)" if self.restore_best_weights else ""))
