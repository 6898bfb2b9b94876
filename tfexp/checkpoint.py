"""Per-epoch checkpoints a run can be resumed from, and the guard that stops on NaN.

A checkpoint is a ``tf.train.Checkpoint`` of the model and its optimizer (and of the state a
stage carries besides its model, :class:`WithState`), written under
``<output_dir>/checkpoints/`` with ``state.json`` (stage, epoch, the trackers' run refs, the stages
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
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any, Mapping

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
    tracker_refs: dict[str, str]
    """Tracker name -> the run in that tracker (``run.tracker_refs``): ``resume=`` reopens it."""
    stage: str = ""
    """The stage the checkpoint is in ("": the run's one training stage)."""
    finished: dict[str, dict] = field(default_factory=dict)
    """Stages done: ``{stage: {"path": final weights, "epoch": last epoch}}``."""
    trained: bool = False
    """Every stage is done (the run was evaluating or exporting)."""
    history: dict[str, list[float]] = field(default_factory=dict)
    """``run.history`` up to this checkpoint: a resumed run's summary and sweep objective
    see every epoch, not only those trained after the resume."""
    test_metrics: dict[str, float] | None = None
    """Set once the run was evaluated and exported: a resumed run only closes its trackers
    (a kill while they closed must not export a second time)."""
    completed: bool = False
    """The run FINISHED: evaluated and exported (``resume=`` only trains it longer)."""
    early_stopping: dict = field(default_factory=dict)
    """The stage's early stopping at this checkpoint (best value, epoch and logs, epochs
    waited; ``weights``: the file of its best weights beside the checkpoint), so that a
    resumed stage goes on counting patience from where it was (tfexp.trainer.EarlyStop)."""

    @classmethod
    def read(cls, run_dir: Path) -> CheckpointState | None:
        """The state in ``run_dir`` with its paths made absolute (they are stored relative to
        the run directory, so a moved directory resumes); None when there is none yet."""
        state_file = Path(run_dir) / CHECKPOINT_DIR / STATE_FILE
        if not state_file.is_file():
            return None
        try:
            fields = json.loads(state_file.read_text())
            if "mlflow_run_id" in fields:  # written by tfexp 0.1 (read for one release)
                run_id = fields.pop("mlflow_run_id")
                fields["tracker_refs"] = {"mlflow": run_id} if run_id else {}
            state = cls(**fields)
            if not (isinstance(state.epoch, int) and isinstance(state.path, str) and isinstance(state.finished, dict)
                    and isinstance(state.history, dict)):
                raise TypeError("epoch, path, finished or history has the wrong type")
            return state.relocated(lambda path: os.path.join(os.path.abspath(run_dir), path))
        except (ValueError, TypeError, KeyError, AttributeError) as exc:
            raise DamagedCheckpoint(state_file, f"{type(exc).__name__}: {exc}") from None

    def relocated(self, move) -> CheckpointState:
        """This state with ``move`` applied to every checkpoint path."""
        finished = {stage: {**done, "path": move(done["path"])} for stage, done in self.finished.items()}
        return replace(self, path=move(self.path), finished=finished)


class DamagedCheckpoint(TfexpError):
    """``state.json`` or a checkpoint file it names cannot be read."""

    def __init__(self, path: Path | str, reason: str):
        super().__init__(
            f"damaged checkpoint: {path} ({reason}). This run cannot be resumed from it: put back an intact "
            f"copy of {Path(path).parent}, or start a new run (the MLflow run keeps what was logged)"
        )


def verify_files(state: CheckpointState) -> None:
    """Read every checkpoint ``state`` names, whole: a missing or truncated file raises
    :class:`DamagedCheckpoint` naming it, before a run is reopened."""
    import glob

    import tensorflow as tf

    if weights := state.early_stopping.get("weights"):
        if not os.path.isfile(path := os.path.join(os.path.dirname(state.path), weights)):
            raise DamagedCheckpoint(path, "missing")
    for prefix in {state.path, *(done["path"] for done in state.finished.values())}:
        index, data = f"{prefix}.index", sorted(glob.glob(f"{glob.escape(prefix)}.data-*"))
        for path in (index, *(data or [f"{prefix}.data-00000-of-00001"])):
            if not os.path.isfile(path):
                raise DamagedCheckpoint(path, "missing")
        try:
            reader = tf.train.load_checkpoint(prefix)
        except Exception as exc:
            raise DamagedCheckpoint(index, _first_line(exc)) from None
        try:
            for name in reader.get_variable_to_shape_map():
                reader.get_tensor(name)
        except Exception as exc:
            raise DamagedCheckpoint(" / ".join(data), _first_line(exc)) from None


def _first_line(exc: Exception) -> str:
    return f"{type(exc).__name__}: {str(exc).strip().splitlines()[0] if str(exc).strip() else ''}"


@dataclass(frozen=True)
class WithState:
    """A stage's model and the state the stage carries besides it (``run.fit(carries=...)``:
    name -> Keras layer or variable, e.g. running statistics its training step updates): the
    stage's checkpoints hold both, so ``resume=`` and NaN recovery restore both."""

    model: Any
    carries: Mapping[str, Any]

    def __post_init__(self) -> None:
        if taken := {"model", "optimizer"} & set(self.carries):
            raise ValueError(f"run.fit(carries=...) names {sorted(taken)}: the checkpoint holds the model and its optimizer under those names; rename them")

    @property
    def optimizer(self):
        return self.model.optimizer


def _trackable(model):
    """The model and its optimizer (with what a :class:`WithState` carries), or a technique's
    own ``tf.train.Checkpoint`` as it is (RL: networks, optimizer, counters, RNG states, replay
    buffer)."""
    import tensorflow as tf

    if isinstance(model, tf.train.Checkpoint):
        return model
    model, carries = (model.model, model.carries) if isinstance(model, WithState) else (model, {})
    return tf.train.Checkpoint(model=model, optimizer=model.optimizer, **carries)


def save_checkpoint(run, model, epoch: int, stage: str = "") -> CheckpointState:
    """Write model + optimizer for ``epoch`` of ``stage``, flush tracking, then commit ``state.json``."""
    directory = run.output_dir / CHECKPOINT_DIR
    name = f"{stage}-epoch-{epoch}" if stage else f"epoch-{epoch}"
    path = _trackable(model).write(str(directory / name))
    previous = CheckpointState.read(run.output_dir)
    _commit(run, CheckpointState(epoch, path, dict(run.tracker_refs), stage, previous.finished if previous else {}, history=run.history,
                                 early_stopping=_early_stopping(run, stage, directory / f"{name}.best.npz")))
    for old in directory.glob("*epoch-*"):
        if not old.name.startswith(f"{name}."):
            old.unlink()
    return CheckpointState.read(run.output_dir)


def _early_stopping(run, stage: str, weights_file: Path) -> dict:
    """``stage``'s early stopping as ``tfexp.trainer.EarlyStop`` left it in ``run.info``, its
    best weights written to ``weights_file`` (removed with the checkpoint it belongs to)."""
    import numpy as np

    current = run.info.get("early_stopping")
    if not current or current["stage"] != stage:
        return {}
    state = {key: value for key, value in current.items() if key != "weights"}
    if current["weights"] is not None:
        np.savez(weights_file, *current["weights"])
        state["weights"] = weights_file.name
    return state


def read_best_weights(state: CheckpointState) -> list | None:
    """The best weights an :attr:`CheckpointState.early_stopping` names, in model order."""
    if "weights" not in state.early_stopping:
        return None
    import numpy as np

    with np.load(os.path.join(os.path.dirname(state.path), state.early_stopping["weights"])) as stored:
        return [stored[f"arr_{i}"] for i in range(len(stored.files))]


def finish_stage(run, model, stage: str, epochs: int) -> None:
    """Keep ``stage``'s final weights and record it done: a resumed run skips it."""
    path = _trackable(model).write(str(run.output_dir / CHECKPOINT_DIR / f"stage-{stage or 'run'}"))
    previous = CheckpointState.read(run.output_dir)
    finished = {**(previous.finished if previous else {}), stage: {"path": path, "epoch": epochs - 1}}
    _commit(run, CheckpointState(epochs - 1, path, dict(run.tracker_refs), stage, finished, history=run.history))


def mark_trained(run) -> None:
    """Every stage is done: a resumed run goes straight to evaluation and export."""
    if state := CheckpointState.read(run.output_dir):
        _commit(run, replace(state, trained=True, history=run.history))


def mark_exported(run) -> None:
    """Evaluated and exported: a resumed run does neither again."""
    if state := CheckpointState.read(run.output_dir):
        _commit(run, replace(state, test_metrics=run.test_metrics))


def mark_completed(run) -> None:
    """The run FINISHED (its trackers closed: nothing to flush): ``resume=`` now refuses
    unless ``trainer.epochs`` grows."""
    if state := CheckpointState.read(run.output_dir):
        _write(run.output_dir, replace(state, completed=True))


def _commit(run, state: CheckpointState) -> None:
    """Flush tracking, then replace ``state.json`` atomically (a kill leaves the old or the new)."""
    run.hook.tfexp_flush_tracking(run=run)
    _write(run.output_dir, state)


def _write(run_dir: Path, state: CheckpointState) -> None:
    """Replace ``state.json`` atomically, its paths relative to ``run_dir``."""
    tmp = run_dir / CHECKPOINT_DIR / f"{STATE_FILE}.tmp"
    relative = state.relocated(lambda path: os.path.relpath(os.path.abspath(path), os.path.abspath(run_dir)))
    tmp.write_text(json.dumps(asdict(relative)))
    os.replace(tmp, run_dir / CHECKPOINT_DIR / STATE_FILE)


def restore_checkpoint(run, model, state: CheckpointState, path: str | None = None) -> None:
    """Load model + optimizer from ``state`` (or ``path``) and tell trackers to drop repeated steps."""
    trackable = _trackable(model)
    trackable.read(path or state.path).expect_partial()
    if trackable is not model:
        trackable.model.optimizer.build(trackable.model.trainable_variables)
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
