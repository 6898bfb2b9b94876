"""The Keras callback that connects ``model.fit`` to the tfexp hooks and the sink."""

from __future__ import annotations

import keras


class HookCallback(keras.callbacks.Callback):
    """Per epoch: ``run.epoch_end`` (history, trackers, ``tfexp_on_epoch_end``).

    Per step, every ``tracking.log_every_n_steps`` optimizer steps: training metrics as
    ``step/<name>`` at the global step. Converting to float syncs with the device once
    per N steps, never on the other steps.
    """

    def __init__(self, run, prefix: str = ""):
        super().__init__()
        self.run = run
        self.prefix = prefix
        self.every = int(run.cfg.tracking.log_every_n_steps)
        self.global_step = 0

    def on_train_batch_end(self, batch, logs=None):
        self.global_step += 1
        if self.every and self.global_step % self.every == 0 and logs:
            values = {f"{self.prefix}step/{k}": float(v) for k, v in logs.items()}
            self.run.log_metrics(values, step=self.global_step)

    def on_epoch_end(self, epoch, logs=None):
        self.run.epoch_end(epoch, logs or {}, prefix=self.prefix)
