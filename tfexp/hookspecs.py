"""Every hook a tfexp plugin can implement, grouped by the phase in which it fires.

Hooks fire in this order during one run (see docs/design.md):

1. registration: ``tfexp_register_models`` / ``_datasets`` / ``_strategies`` / ``_techniques``
2. ``tfexp_configure`` -> ``tfexp_before_run`` -> ``tfexp_after_strategy_created``
   -> ``tfexp_build_data`` -> ``tfexp_build_model`` -> ``tfexp_before_compile``
   -> ``tfexp_before_fit`` -> ``tfexp_run_fit`` (each ``run.fit`` stage in it fires
   ``tfexp_fit_stage``, which fires ``tfexp_on_epoch_end``; each ``run.evaluate``
   fires ``tfexp_evaluate_stage``)
   -> ``tfexp_after_fit`` -> ``tfexp_evaluate`` -> ``tfexp_export_model``
3. on failure ``tfexp_on_run_error`` (then the error is re-raised);
   always ``tfexp_after_run`` (from ``finally``).

Tracking hooks (``tfexp_log_*``, ``tfexp_set_tags``) fire whenever anything calls the
run's tracking sink (:class:`tfexp.run.Run`); trackers implement them.

Sweep hooks (``tfexp_sweep_*``) fire around a multirun, from the core's Hydra callback
(tfexp/sweep.py): start, each job's end, end with the summary the core computed.
Resolver hooks (``tfexp_locate_run``, ``tfexp_load_model``) answer what only a tracker knows:
where a run id's run lives, how to load a model from a tracker's URI.

Only hooks that *produce* something are ``firstresult``; the built-in defaults of those
are ``trylast`` so that any plugin or technique can take over.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterable

import pluggy

from tfexp import PROJECT

if TYPE_CHECKING:
    import keras
    from omegaconf import DictConfig

    from tfexp.components import DatasetSpec, ModelSpec, StrategySpec, TechniqueSpec
    from tfexp.data import Data
    from tfexp.run import Run
    from tfexp.sweep_records import Sweep, SweepJob, SweepSummary

hookspec = pluggy.HookspecMarker(PROJECT)


# -- registration ---------------------------------------------------------------------


@hookspec
def tfexp_register_models() -> Iterable[ModelSpec]:
    """Return the models this plugin provides (selected with ``model.name``)."""


@hookspec
def tfexp_register_datasets() -> Iterable[DatasetSpec]:
    """Return the datasets this plugin provides (selected with ``data.name``)."""


@hookspec
def tfexp_register_strategies() -> Iterable[StrategySpec]:
    """Return the distribution strategies this plugin provides (``strategy.name``)."""


@hookspec
def tfexp_register_techniques() -> Iterable[TechniqueSpec]:
    """Return the training techniques this plugin provides (``technique.name``)."""


# -- run lifecycle --------------------------------------------------------------------


@hookspec
def tfexp_configure(cfg: DictConfig) -> None:
    """Validate or adjust the composed config before anything heavy is imported.

    Raise :class:`tfexp.errors.ConfigError` with the key and the expected value."""


@hookspec
def tfexp_before_run(run: Run) -> None:
    """A run starts: trackers open their run here. Then the core sends a new run's tags,
    params (the config, flat, masked) and config files through the sink (tfexp/run_facts.py)."""


@hookspec
def tfexp_after_strategy_created(run: Run, strategy: Any) -> None:
    """The ``tf.distribute.Strategy`` exists (``run.strategy``); nothing is built yet."""


@hookspec(firstresult=True)
def tfexp_build_data(run: Run) -> Data | None:
    """Return the run's :class:`tfexp.data.Data`; the default loads ``data.name``."""


@hookspec(firstresult=True)
def tfexp_build_model(run: Run, data: Data) -> keras.Model | None:
    """Return the model to train; called inside ``strategy.scope()``.

    The default builds ``model.name`` for ``data.spec``'s input shape and outputs."""


@hookspec
def tfexp_before_compile(run: Run, model: keras.Model, compile_kwargs: dict) -> None:
    """Change ``compile_kwargs`` (optimizer, loss, metrics) in place before ``compile``."""


@hookspec
def tfexp_before_fit(run: Run, model: keras.Model) -> list | None:
    """Return Keras callbacks to add to training (a list, or None)."""


@hookspec(firstresult=True)
def tfexp_run_fit(run: Run, model: keras.Model, data: Data, callbacks: list) -> dict | None:
    """Train, and return the history as ``{metric: [value per epoch]}``.

    The default trains the run's model as one stage (``run.fit``); techniques implement
    this and train their stages through ``run.fit`` (RL's own loop calls
    ``run.epoch_end(epoch, logs)`` per round)."""


@hookspec(firstresult=True)
def tfexp_fit_stage(run: Run, model: keras.Model, stage: str, train: Any, val: Any, epochs: int,
                    steps_per_epoch: int | None, callbacks: list) -> bool | None:
    """Run one stage's loop from ``run.initial_epoch`` to ``epochs`` (``train``/``val``:
    batches, None for the run's splits) and return True. Strategies implement it (the
    default is ``model.fit``); techniques call ``run.fit`` instead."""


@hookspec(firstresult=True)
def tfexp_evaluate_stage(run: Run, model: keras.Model, batches: Any) -> dict[str, float] | None:
    """Evaluate ``model`` on ``batches`` (a technique's ``run.evaluate``: a teacher, a
    baseline) and return its metrics. Strategies implement it (the default is
    ``model.evaluate``); techniques call ``run.evaluate`` instead."""


@hookspec
def tfexp_on_epoch_end(run: Run, epoch: int, logs: dict[str, float]) -> None:
    """An epoch ended with these (already float) metrics; epochs count from 0."""


@hookspec
def tfexp_after_fit(run: Run, model: keras.Model, history: dict) -> None:
    """Training finished normally; ``history`` is what ``tfexp_run_fit`` returned."""


@hookspec(firstresult=True)
def tfexp_evaluate(run: Run, model: keras.Model, data: Data) -> dict[str, float] | None:
    """Return test-split metrics without prefix (``{"accuracy": 0.97}``); the runner
    logs them as ``test_<name>``. The default calls ``model.evaluate`` and plots."""


@hookspec
def tfexp_export_model(run: Run, model: keras.Model) -> None:
    """Persist the trained model: the core calls ``run.log_model(model)`` (trackers log it)
    from its own implementation; exporters add serving formats here."""


@hookspec
def tfexp_on_run_error(run: Run, error: BaseException) -> None:
    """The run raised ``error``; it is re-raised after every implementation ran. The core has
    already sent the traceback (artifact ``error/``) and the ``tfexp.error`` tag."""


@hookspec
def tfexp_after_run(run: Run, status: str) -> None:
    """Always fires last, with ``FINISHED``, ``FAILED`` or ``KILLED``.

    Trackers flush and close here; the runner prints ``run.summary`` afterwards. Here and in
    ``tfexp_on_run_error`` every implementation runs even when another raises: that failure is
    logged, and cannot change the run's status or hide its own error (tfexp/always_hooks.py)."""


# -- tracking sink --------------------------------------------------------------------


@hookspec
def tfexp_log_params(run: Run, params: dict[str, Any]) -> None:
    """Record parameters: flat dotted keys, values as they are (numbers, lists, None), secrets
    masked. The core sends the run's config here when a new run starts."""


@hookspec
def tfexp_log_metrics(run: Run, metrics: dict[str, float], step: int) -> None:
    """Record metric values at ``step`` (an epoch, or a global step for per-step metrics).

    Called on the training thread: implementations must not block (buffer instead)."""


@hookspec
def tfexp_set_tags(run: Run, tags: dict[str, str]) -> None:
    """Record tags (technique, model, versions, ...)."""


@hookspec
def tfexp_flush_tracking(run: Run) -> None:
    """Write everything buffered now. Fires before a checkpoint is committed, so a
    checkpoint never runs ahead of what was logged."""


@hookspec
def tfexp_on_checkpoint_restored(run: Run, epoch: int) -> None:
    """Training state went back to the end of ``epoch`` (resume, NaN recovery): steps
    after it will be logged again, and trackers drop values they already have."""


@hookspec
def tfexp_log_model(run: Run, model: keras.Model, name: str) -> None:
    """Record a trained Keras model under ``name`` (``"model"`` is the run's own model;
    techniques log others, e.g. ``"teacher"``)."""


@hookspec
def tfexp_log_artifact(run: Run, path: str, artifact_path: str | None) -> None:
    """Record a file or directory produced by the run under ``artifact_path``."""


@hookspec
def tfexp_log_model_file(run: Run, path: str, name: str) -> None:
    """Add the file ``path`` to the model logged as ``name`` (``tfexp_log_model``), so it
    downloads and serves with that model (the exporter's ``prediction_params.json``).
    Trackers that keep no models ignore it."""


# -- sweep ----------------------------------------------------------------------------


@hookspec
def tfexp_sweep_start(sweep: Sweep) -> None:
    """A multirun starts, in the process that launches its jobs, before the first job.

    Trackers open their record of the sweep (MLflow: the parent run) and keep a reference in
    ``sweep.refs[<name>]``: every job's process sees the same :class:`~tfexp.sweep_records.Sweep`
    (:func:`tfexp.sweep.current_sweep`), so a job's run can join it. With ``sweep.resume``, a
    tracker that finds this sweep's earlier record fills ``sweep.finished``: those jobs are
    not trained again."""


@hookspec
def tfexp_sweep_job_end(sweep: Sweep, job: SweepJob) -> None:
    """A job ended (FINISHED, FAILED or PRUNED), in the job's own process (a joblib or Ray
    worker under those launchers); ``job.run_refs`` names the job's run in each tracker."""


@hookspec
def tfexp_sweep_end(sweep: Sweep, summary: SweepSummary) -> None:
    """Every job ended; the core has written ``summary.files`` under ``<sweep dir>/summary``.
    Trackers record the summary (MLflow: files, metrics, description on the parent run) and
    close their record, FAILED when ``summary.failed``."""


# -- resolvers ------------------------------------------------------------------------


@hookspec(firstresult=True)
def tfexp_locate_run(cfg: DictConfig, ref: str) -> Path | None:
    """Return the output directory of the run ``ref`` names (``resume=<ref>``, e.g. an MLflow
    run id), or None when ``ref`` is not a run this tracker knows."""


@hookspec(firstresult=True)
def tfexp_load_model(cfg: DictConfig, uri: str) -> keras.Model | None:
    """Return the Keras model at a tracker's ``uri`` (``runs:/<id>/model``, ``models:/name@alias``),
    or None when the scheme is not this tracker's. Must not change process-wide tracker state."""
