"""Runs one experiment: resolves components, fires the lifecycle hooks in order.

The order (documented in docs/design.md and tfexp/hookspecs.py) is the contract plugin
authors rely on; change it only deliberately.
"""

from __future__ import annotations

import logging
import os
import signal
import threading
from collections.abc import Mapping
from pathlib import Path

from omegaconf import DictConfig

from tfexp.always_hooks import call_isolated, first_result
from tfexp.checkpoint import mark_completed
from tfexp.config import apply_debug, validate
from tfexp.errors import TfexpError
from tfexp.plugins import get_plugin_manager, get_registry, plugin_that_raised
from tfexp.pruning import TrialPruned
from tfexp.resume import resume_config, resume_dir, save_run_config
from tfexp.run import Run
from tfexp.run_facts import publish_error, publish_log_file, publish_start
from tfexp.run_lock import run_lock

log = logging.getLogger("tfexp")

FINISHED, FAILED, KILLED = "FINISHED", "FAILED", "KILLED"


def resolve_components(cfg: DictConfig, registry) -> None:
    """Fail on unknown names before anything heavy is imported or a run is opened."""
    for kind in ("model", "data", "strategy", "technique"):
        registry.entry(kind, cfg[kind].name)


def run_experiment(cfg: DictConfig, output_dir: str | Path, pm=None, overrides: list[str] = ()) -> Run:
    """Run the experiment described by ``cfg``, writing outputs under ``output_dir``.

    With ``cfg.resume`` set, the run named there continues instead (its own config,
    output directory and MLflow run)."""
    resumed = None
    output_dir = resume_dir(cfg, pm or get_plugin_manager()) if cfg.get("resume") else Path(output_dir)
    with run_lock(output_dir):
        if cfg.get("resume"):
            cfg, resumed = resume_config(cfg, list(overrides), output_dir)
        return _run(cfg, output_dir, pm, list(overrides), resumed)


def _run(cfg: DictConfig, output_dir: Path, pm, overrides: list[str], resumed) -> Run:
    cfg = apply_debug(cfg)
    validate(cfg)
    pm = pm or get_plugin_manager()
    registry = get_registry(pm)
    resolve_components(cfg, registry)
    technique = registry.get("technique", cfg.technique.name).factory(cfg.technique)
    technique_name = f"technique:{cfg.technique.name}"
    pm.register(technique, name=technique_name)
    try:
        pm.hook.tfexp_configure(cfg=cfg)
        run = Run(cfg=cfg, output_dir=output_dir, plugin_manager=pm, registry=registry, overrides=overrides)
        run.subject = getattr(technique, "subject", None) or {"model": cfg.model.name, "data": cfg.data.name}
        run.info["resume"] = resumed
        if resumed:  # the epochs trained before the stop count for the summary and the objective
            run.history = {name: list(values) for name, values in resumed.history.items()}
        if cfg.trainer.checkpoint_every and not resumed:
            save_run_config(cfg, run.output_dir)
        _execute(run)
    finally:
        pm.unregister(name=technique_name)
    return run


def _execute(run: Run) -> None:
    hook, cfg = run.hook, run.cfg
    os.environ.setdefault("MPLBACKEND", "Agg")  # plots are files, never windows
    status = FAILED
    restore_sigterm = _stop_on_sigterm(run)
    try:
        hook.tfexp_before_run(run=run)
        publish_start(run)
        import keras

        from tfexp.checkpoint import restore_checkpoint
        from tfexp.defaults import compile_kwargs_for

        keras.utils.set_random_seed(cfg.seed)
        run.strategy = run.registry.get("strategy", cfg.strategy.name).create(cfg.strategy)
        hook.tfexp_after_strategy_created(run=run, strategy=run.strategy)
        run.data = data = checked_data(hook.tfexp_build_data(run=run), cfg.data.name)
        with run.strategy.scope():
            run.model = model = first_result(run.plugin_manager, "tfexp_build_model", keras.Model, run=run, data=data)
            compile_kwargs = compile_kwargs_for(run, data.spec)
            hook.tfexp_before_compile(run=run, model=model, compile_kwargs=compile_kwargs)
            model.compile(**compile_kwargs)
            if run.info["resume"] and not run.info["resume"].stage:  # a technique's stages restore in run.fit
                restore_checkpoint(run, model, run.info["resume"])
        if run.info["resume"] and run.info["resume"].test_metrics is not None:
            log.info("resume: this run was evaluated and exported before it stopped; only its trackers are closed")
            run.test_metrics = dict(run.info["resume"].test_metrics)
        else:
            _train_evaluate_export(run, model, data)
        status = FINISHED
    except TrialPruned:  # not an error: the sweeper's pruner stopped it (tfexp/pruning.py)
        status = KILLED
        raise
    except KeyboardInterrupt as exc:
        status = KILLED
        if (run.output_dir / "checkpoints" / "state.json").is_file():
            run.set_tags({"tfexp.resumable": f"python -m tfexp resume={run.output_dir}"})
        publish_error(run, exc)
        call_isolated(run.plugin_manager, "tfexp_on_run_error", run=run, error=exc)
        raise
    except BaseException as exc:
        from tfexp.data.errors import read_error

        # A bad record, found deep in a tf.data pipeline: one line (naming its file).
        error = (run.data.explain(exc) if run.data is not None else read_error(exc)) or exc
        if isinstance(exc, SystemExit):  # sys.exit(0) in a plugin must not exit 0 for a FAILED run
            error = TfexpError(f"sys.exit({exc.code}) called during the run: it FAILED")
        # A plugin's bug is blamed on it; a TfexpError is the user's to fix, and says how.
        if error is exc and not isinstance(exc, TfexpError) and (culprit := plugin_that_raised(run.plugin_manager, exc)):
            error.add_note(f"raised in plugin {culprit}")
        publish_error(run, error)
        call_isolated(run.plugin_manager, "tfexp_on_run_error", run=run, error=error)
        if error is exc:
            raise
        raise error from exc
    finally:
        restore_sigterm()
        try:
            publish_log_file(run)
            late_error = call_isolated(run.plugin_manager, "tfexp_after_run", run=run, status=status)
            if status == FINISHED and late_error is None and cfg.trainer.checkpoint_every:
                mark_completed(run)
        finally:
            _reset_keras_state()
            _print_summary(run, status)
    if late_error is not None:  # the run itself FINISHED: its first error is this one
        raise late_error


def _train_evaluate_export(run: Run, model, data) -> None:
    """The run's work; each step done is recorded in the checkpoint state, so a resumed run
    does not repeat it."""
    from tfexp.checkpoint import mark_exported, mark_trained

    hook, cfg = run.hook, run.cfg
    # The core adds its own (metrics, NaN guard, SIGTERM, checkpoints) in run.fit (tfexp/stages.py).
    callbacks = [cb for cbs in hook.tfexp_before_fit(run=run, model=model) for cb in cbs or ()]
    history = hook.tfexp_run_fit(run=run, model=model, data=data, callbacks=callbacks)
    if cfg.trainer.checkpoint_every:
        mark_trained(run)
    hook.tfexp_after_fit(run=run, model=model, history=history)
    run.test_metrics = {f"test_{k}": float(v) for k, v in first_result(run.plugin_manager, "tfexp_evaluate", Mapping, run=run, model=model, data=data).items()}
    run.log_metrics(run.test_metrics, step=cfg.trainer.epochs)
    _log_objective(run)
    hook.tfexp_export_model(run=run, model=model)
    if cfg.trainer.checkpoint_every:
        mark_exported(run)


def checked_data(data, name: str):
    """What a data plugin returned, checked to be a :class:`tfexp.data.Data`."""
    from tfexp.data import Data

    if not isinstance(data, Data):
        raise TypeError(
            f"data={name} returned {type(data).__name__}, not a tfexp.data.Data: return "
            f"tfexp.data.ArrayData(x_train, y_train, ...) for arrays, or a streaming source (docs/data.md)"
        )
    return data


def _stop_on_sigterm(run: Run):
    """SIGTERM (preemption) and SIGHUP (a closed terminal) set a flag every training loop
    acts on at its next batch or update (``tfexp.checkpoint.stop_if_preempted``); returns the
    function that puts the previous handlers back."""
    if threading.current_thread() is not threading.main_thread():
        return lambda: None
    signals = (signal.SIGTERM, signal.SIGHUP)
    previous = [signal.signal(s, lambda signum, frame: run.info.__setitem__("preempted", True)) for s in signals]
    return lambda: [signal.signal(s, handler) for s, handler in zip(signals, previous)]


def _log_objective(run: Run) -> None:
    objective = run.objective
    if objective == objective:  # not NaN
        run.log_metrics({"objective": objective}, step=run.cfg.trainer.epochs)
    else:
        known = sorted({*run.test_metrics, *run.history})
        log.warning("sweep.objective=%s is not a metric of this run; known: %s", run.cfg.sweep.objective, ", ".join(known))


def _reset_keras_state() -> None:
    """Jobs run one after another in one process (multirun) must not share state."""
    import keras

    keras.backend.clear_session()
    keras.mixed_precision.set_global_policy("float32")


def shown(name: str, value: float) -> str:
    """A summary value: 4 significant digits (an accuracy, a return of 487.3), and a
    ``*solved`` flag as yes/no."""
    return ("yes" if value else "no") if name.endswith("solved") else f"{value:.4g}"


def _print_summary(run: Run, status: str) -> None:
    metrics = {**{k: v[-1] for k, v in run.history.items() if k.startswith("val_")}, **run.test_metrics}
    subject = " ".join(f"{k}={v}" for k, v in run.subject.items())
    lines = [f"tfexp run {status}: technique={run.cfg.technique.name} {subject}"]
    if metrics:
        lines.append("  " + "  ".join(f"{k}={shown(k, v)}" for k, v in sorted(metrics.items())))
    lines.append(f"  outputs: {run.output_dir}")
    lines += [f"  {line}" for line in run.summary]
    from tfexp.sweep import current_sweep

    in_sweep = current_sweep() is not None  # the sweep prints one line per job instead
    log.log(logging.DEBUG if in_sweep else logging.INFO, "\n".join(lines))
