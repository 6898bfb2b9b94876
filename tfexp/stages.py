"""The stage service: techniques say what a stage trains, the core runs it.

Model Garden splits *what a step is* (the Task) from *who runs the loop* (the Trainer). A
technique hands ``run.fit`` a compiled ``keras.Model`` whose ``train_step`` is the
technique (a plain model, Keras' Distiller, a FixMatch model) and the batches of a data
view; the core runs it through the strategy's loop (``tfexp_fit_stage``: ``model.fit`` on
one host, tfexp's distributed loop under ``multi_worker``) with what every stage needs:
checkpoints per stage and epoch, a resume that skips finished stages and continues the one
it was in, the SIGTERM stop, NaN recovery, and metrics under the stage's prefix.
"""

from __future__ import annotations

import itertools
import math
from typing import Any, Mapping, Sequence

from tfexp.checkpoint import CheckpointState, NanLoss, WithState, finish_stage, recover_from_nan, restore_checkpoint
from tfexp.errors import ConfigError


def core_callbacks(run, stage: str = "", prefix: str = "", saves: Any = None) -> list:
    """What the core attaches to every fit, in order: epoch metrics are logged before the
    checkpoint flushes them."""
    from tfexp.callbacks import CheckpointCallback, HookCallback, NanGuard, StopOnPreemption

    callbacks = [HookCallback(run, prefix=prefix), NanGuard(), StopOnPreemption(run)]
    if run.cfg.trainer.checkpoint_every:
        callbacks.append(CheckpointCallback(run, stage, saves))
    return callbacks


def fit(run, model, *, stage: str = "", train=None, val=None, epochs: int | None = None, first_epoch: int = 0,
        steps_per_epoch: int | None = None, callbacks: Sequence = (), saves: Any = None, carries: Mapping[str, Any] | None = None,
        prefix: str | None = None) -> dict[str, list[float]]:
    """Train ``model`` (compiled) for the stage ``stage`` and return the run's history.

    ``train``/``val``: batches (default: the run's train and val splits); epochs
    ``first_epoch`` to ``epochs`` (default ``first_epoch`` + :func:`stage_epochs`: stages that
    continue one curve start where the last ended); ``steps_per_epoch`` (default
    ``trainer.steps_per_epoch``);
    ``callbacks`` run before the core's and ``trainer``'s (learning-rate schedule, early
    stopping: tfexp/trainer.py); ``saves``: the model the checkpoints hold when
    ``model`` wraps it (a Distiller saves its student); ``carries``: state the stage carries
    besides that model (name -> Keras layer or variable: FixMatch's distribution-alignment
    means), checkpointed with it and restored on resume and NaN recovery; metrics go under
    ``prefix`` (default ``"<stage>/"``)."""
    from tfexp.calibration import calibration_callbacks
    from tfexp.trainer import stage_callbacks

    t = run.cfg.trainer
    if train is None:
        check_batch_size(run, run.data)
    epochs = epochs or first_epoch + stage_epochs(run, train, steps_per_epoch)
    saves = WithState(saves or model, carries) if carries else saves or model
    prefix = (f"{stage}/" if stage else "") if prefix is None else prefix
    resumed = _resume(run, saves, stage, epochs)
    if resumed == SKIP:
        return run.history
    if stage and resumed != CONTINUE:
        run.initial_epoch = first_epoch
    calibration = calibration_callbacks(run, run.dataset("val") if val is None else val)  # first: val_ece is in every callback's logs
    callbacks = [*calibration, *callbacks, *stage_callbacks(run, stage, prefix, first_epoch), *core_callbacks(run, stage, prefix, saves)]
    for attempt in itertools.count(1):
        try:
            run.hook.tfexp_fit_stage(run=run, model=model, stage=stage, train=train, val=val, epochs=epochs,
                                     steps_per_epoch=steps_per_epoch or t.steps_per_epoch, callbacks=callbacks)
            break
        except NanLoss as exc:
            if attempt > t.nan_recovery:
                raise
            recover_from_nan(run, saves, exc, attempt)
    if t.checkpoint_every:
        finish_stage(run, saves, stage, epochs)
    run.initial_epoch = 0  # the next stage starts at its first epoch
    return run.history


SKIP, CONTINUE = "skip", "continue"


def stage_epochs(run, train=None, steps_per_epoch: int | None = None) -> int:
    """The epochs a stage trains: ``trainer.epochs``, or with ``trainer.steps`` as many as
    those optimizer steps fill, rounded up. An epoch's steps: ``steps_per_epoch`` (or
    ``trainer.steps_per_epoch``), else the batches of ``train`` (default: the run's train split)."""
    t = run.cfg.trainer
    if t.steps is None:
        return t.epochs
    per_epoch = steps_per_epoch or t.steps_per_epoch
    if per_epoch is None and train is not None:
        per_epoch = max(int(train.cardinality()), 0) or None  # INFINITE and UNKNOWN are negative
    if per_epoch is None and train is None and (size := run.data.spec.size("train")):
        per_epoch = math.ceil(size / t.batch_size)
    if per_epoch is None:
        raise ConfigError(
            f"trainer.steps={t.steps}: the stage's data does not say how many batches an epoch has, so the steps "
            f"cannot be turned into epochs; give trainer.steps_per_epoch=N too, or use trainer.epochs instead"
        )
    return max(1, math.ceil(t.steps / per_epoch))


def check_batch_size(run, data) -> None:
    """A batch larger than a known training split would make every epoch empty."""
    size, batch = data.spec.size("train"), run.cfg.trainer.batch_size
    if size is not None and batch > size:
        raise ConfigError(f"trainer.batch_size={batch} is larger than the training split ({size} examples); use trainer.batch_size={size} or less")


def _resume(run, model, stage: str, epochs: int) -> str | None:
    """After ``resume=``: load a finished stage's weights (SKIP it) or the checkpoint of the
    stage the run was in (CONTINUE it). The run's one stage ("") was restored with the model."""
    state: CheckpointState | None = run.info.get("resume")
    if state is None or not stage:
        return None
    done = state.finished.get(stage)
    with run.strategy.scope():
        if done and done["epoch"] + 1 >= epochs:
            restore_checkpoint(run, model, state, done["path"])
            return SKIP
        if state.stage == stage:
            restore_checkpoint(run, model, state)
            return CONTINUE
        if done:  # trainer.epochs grew: train the finished stage longer
            restore_checkpoint(run, model, CheckpointState(done["epoch"], done["path"], {}), done["path"])
            return CONTINUE
    return None


def skipped(run, stage: str) -> bool:
    """Whether a resumed run finished ``stage`` before (e.g. to log its model only once)."""
    state = run.info.get("resume")
    return bool(state and stage in state.finished)


def evaluate(run, model, split: str = "test", *, data: Any = None, batches: Any = None, prefix: str = "") -> dict[str, float]:
    """``model.evaluate`` (through the strategy's ``tfexp_evaluate_stage``) on ``split`` of
    ``data`` (default: the run's) or on ``batches``;
    with a ``prefix``, logged as ``<prefix><split>_<name>`` at step ``trainer.epochs``. On
    class labels it has ``ece`` too (tfexp/calibration.py: one more inference pass)."""
    from functools import partial

    from tfexp.calibration import batches_ece

    batches = batches if batches is not None else run.dataset(split, data=data)
    metrics = {k: float(v) for k, v in run.hook.tfexp_evaluate_stage(run=run, model=model, batches=batches).items()}
    if run.data.spec.task == "multiclass" and (ece := batches_ece(partial(model, training=False), batches, run.data.spec.num_outputs)) is not None:
        metrics["ece"] = ece
    if prefix:
        run.log_metrics({f"{prefix}{split}_{k}": v for k, v in metrics.items()}, step=run.cfg.trainer.epochs)
    return metrics
