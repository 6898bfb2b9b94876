"""Per-epoch checkpoints a run can be resumed from, and the guard that stops on NaN.

A checkpoint is a ``tf.train.Checkpoint`` of the model and its optimizer, written under
``<output_dir>/checkpoints/`` with ``state.json`` (stage, epoch, MLflow run id, the stages
already finished) beside it. A technique's stages (tfexp/stages.py) each keep their final
weights there, so a resumed run skips the stages it finished and continues the one it was in.
Tracking is flushed *before* ``state.json`` moves on, so a checkpoint never runs ahead of
what was logged: after a kill, resuming neither loses an epoch's metrics nor (the tracker
drops repeats) logs one twice.
"""

from __future__ import annotations

import json
import logging
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path

from tfexp.errors import TfexpError

log = logging.getLogger("tfexp")

CHECKPOINT_DIR = "checkpoints"
STATE_FILE = "state.json"
CONFIG_FILE = "config.yaml"


class NanLoss(TfexpError):
    """The training loss became NaN or infinite."""

    def __init__(self, epoch: int, step: int):
        self.epoch, self.step = epoch, step
        super().__init__(
            f"loss became NaN/inf at epoch {epoch}, step {step}. Lower trainer.learning_rate, "
            f"or let tfexp retry from the last checkpoint with trainer.nan_recovery=2"
        )


class Preempted(KeyboardInterrupt):
    """SIGTERM arrived; training stopped at a batch boundary (resumable from its last checkpoint, if any)."""


def stop_if_preempted(run, where: str) -> None:
    """Raise :class:`Preempted` once SIGTERM has set ``run.info["preempted"]`` (the runner's
    handler); every loop calls this at its next safe point (a batch, an RL update)."""
    if run.info.get("preempted"):
        raise Preempted(f"SIGTERM: stopped {where}")


@dataclass(frozen=True)
class CheckpointState:
    epoch: int
    """The last completed epoch the checkpoint holds (-1: before training)."""
    path: str
    mlflow_run_id: str | None
    stage: str = ""
    """The stage the checkpoint is in ("": the run's one training stage)."""
    finished: dict[str, dict] = field(default_factory=dict)
    """Stages done: ``{stage: {"path": final weights, "epoch": last epoch}}``."""
    trained: bool = False
    """Every stage is done (the run was evaluating or exporting)."""

    @classmethod
    def read(cls, run_dir: Path) -> CheckpointState | None:
        state_file = Path(run_dir) / CHECKPOINT_DIR / STATE_FILE
        return cls(**json.loads(state_file.read_text())) if state_file.is_file() else None


def _trackable(model):
    import tensorflow as tf

    return tf.train.Checkpoint(model=model, optimizer=model.optimizer)


def save_checkpoint(run, model, epoch: int, stage: str = "") -> CheckpointState:
    """Write model + optimizer for ``epoch`` of ``stage``, flush tracking, then commit ``state.json``."""
    directory = run.output_dir / CHECKPOINT_DIR
    name = f"{stage}-epoch-{epoch}" if stage else f"epoch-{epoch}"
    path = _trackable(model).write(str(directory / name))
    previous = CheckpointState.read(run.output_dir)
    _commit(run, CheckpointState(epoch, path, run.info.get("mlflow_run_id"), stage, previous.finished if previous else {}))
    for old in directory.glob("*epoch-*"):
        if not old.name.startswith(f"{name}."):
            old.unlink()
    return CheckpointState.read(run.output_dir)


def finish_stage(run, model, stage: str, epochs: int) -> None:
    """Keep ``stage``'s final weights and record it done: a resumed run skips it."""
    path = _trackable(model).write(str(run.output_dir / CHECKPOINT_DIR / f"stage-{stage or 'run'}"))
    previous = CheckpointState.read(run.output_dir)
    finished = {**(previous.finished if previous else {}), stage: {"path": path, "epoch": epochs - 1}}
    _commit(run, CheckpointState(epochs - 1, path, run.info.get("mlflow_run_id"), stage, finished))


def mark_trained(run) -> None:
    """Every stage is done: ``resume=`` now refuses unless ``trainer.epochs`` grows."""
    if state := CheckpointState.read(run.output_dir):
        _commit(run, CheckpointState(**{**asdict(state), "trained": True}))


def _commit(run, state: CheckpointState) -> None:
    """Flush tracking, then replace ``state.json`` atomically (a kill leaves the old or the new)."""
    run.hook.tfexp_flush_tracking(run=run)
    directory = run.output_dir / CHECKPOINT_DIR
    tmp = directory / f"{STATE_FILE}.tmp"
    tmp.write_text(json.dumps(asdict(state)))
    os.replace(tmp, directory / STATE_FILE)


def restore_checkpoint(run, model, state: CheckpointState, path: str | None = None) -> None:
    """Load model + optimizer from ``state`` (or ``path``) and tell trackers to drop repeated steps."""
    _trackable(model).read(path or state.path).expect_partial()
    model.optimizer.build(model.trainable_variables)
    run.initial_epoch = state.epoch + 1
    run.hook.tfexp_on_checkpoint_restored(run=run, epoch=state.epoch)


def recover_from_nan(run, model, error: NanLoss, attempt: int) -> None:
    """Back to the last checkpoint with half the learning rate it failed with."""
    failed_lr = float(model.optimizer.learning_rate)
    state = CheckpointState.read(run.output_dir)
    restore_checkpoint(run, model, state)
    model.optimizer.learning_rate = failed_lr / 2
    run.log_metrics({"nan_recoveries": attempt, "nan_recovery/learning_rate": failed_lr / 2}, step=state.epoch + 1)
    log.warning("%s -- recovery %d/%d: back to epoch %d, learning rate %g", error, attempt, run.cfg.trainer.nan_recovery, state.epoch, failed_lr / 2)
