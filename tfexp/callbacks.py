"""Keras callbacks that connect ``model.fit`` to tfexp: hooks and sink, checkpoints,
preemption, NaN guard."""

from __future__ import annotations

import math

import keras

from tfexp.checkpoint import CheckpointState, NanLoss, save_checkpoint, stop_if_preempted


class HookCallback(keras.callbacks.Callback):
    """Per epoch: ``run.epoch_end`` (history, trackers, ``tfexp_on_epoch_end``).

    Per step, every ``tracking.log_every_n_steps`` optimizer steps: training metrics as
    ``step/<name>`` at the global step, counted by the optimizer, so that after a resume or
    a NaN recovery the steps go on from the checkpoint. Converting to float syncs with the
    device once per N steps, never on the other steps.
    """

    def __init__(self, run, prefix: str = ""):
        super().__init__()
        self.run = run
        self.prefix = prefix
        self.every = int(run.cfg.tracking.log_every_n_steps)
        self.global_step = 0

    def on_train_begin(self, logs=None):
        if getattr(self.model, "optimizer", None) is not None:
            import keras

            self.global_step = int(keras.ops.convert_to_numpy(self.model.optimizer.iterations))

    def on_train_batch_end(self, batch, logs=None):
        self.global_step += 1
        if self.every and self.global_step % self.every == 0 and logs:
            values = {f"{self.prefix}step/{k}": float(v) for k, v in logs.items()}
            self.run.log_metrics(values, step=self.global_step)

    def on_epoch_end(self, epoch, logs=None):
        logs = dict(logs or {})
        if "learning_rate" not in logs and getattr(self.model, "optimizer", None) is not None:
            logs["learning_rate"] = learning_rate(self.model.optimizer)
        self.run.epoch_end(epoch, logs, prefix=self.prefix)


def learning_rate(optimizer) -> float:
    """The rate the optimizer uses now (a schedule's current value), also when it is a
    distribution strategy's MirroredVariable."""
    import tensorflow as tf

    rate = optimizer.learning_rate
    return float(tf.convert_to_tensor(getattr(rate, "value", rate)))


class CheckpointCallback(keras.callbacks.Callback):
    """Checkpoints ``saves`` (default: the model being fit) before a stage starts and every
    ``trainer.checkpoint_every`` epochs, recording the ``stage``."""

    def __init__(self, run, stage: str = "", saves=None):
        super().__init__()
        self.run, self.stage, self.saves = run, stage, saves
        self.every = int(run.cfg.trainer.checkpoint_every)

    def on_train_begin(self, logs=None):
        state = CheckpointState.read(self.run.output_dir)
        if state is None or state.stage != self.stage:
            save_checkpoint(self.run, self.saves or self.model, epoch=self.run.initial_epoch - 1, stage=self.stage)

    def on_epoch_end(self, epoch, logs=None):
        if self.every and (epoch + 1) % self.every == 0:
            save_checkpoint(self.run, self.saves or self.model, epoch, stage=self.stage)


class StopOnPreemption(keras.callbacks.Callback):
    """Stops at the next batch boundary after SIGTERM, with or without checkpoints: the
    core attaches it to every fit it runs."""

    def __init__(self, run):
        super().__init__()
        self.run = run

    def on_train_batch_end(self, batch, logs=None):
        if self.run.info.get("preempted"):
            self.model.stop_training = True
        stop_if_preempted(self.run, "at a batch boundary")


class NanGuard(keras.callbacks.Callback):
    """Raises :class:`NanLoss` (epoch and step) as soon as the batch loss is not finite."""

    def __init__(self):
        super().__init__()
        self.epoch = 0

    def on_epoch_begin(self, epoch, logs=None):
        self.epoch = epoch

    def on_train_batch_end(self, batch, logs=None):
        loss = (logs or {}).get("loss")
        if loss is not None and not math.isfinite(float(loss)):
            self.model.stop_training = True
            raise NanLoss(self.epoch, batch)
