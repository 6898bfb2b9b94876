"""TensorBoard tracker: scalars for every logged metric, under ``<output_dir>/tensorboard``.

Events are written by :class:`tfexp_tensorboard.events.EventWriter` (protobufs, no
TensorFlow ops), so logging every step stays cheap. Only the chief of a cluster writes.
"""

from tfexp import hookimpl
from tfexp.cluster import is_chief


def writer_of(run):
    return run.info.get("tensorboard_writer")


@hookimpl
def tfexp_before_run(run):
    if run.cfg.tracking.tensorboard and is_chief():  # one event log per cluster: the chief's
        from tfexp_tensorboard.events import EventWriter

        logdir = run.output_dir / "tensorboard"
        run.info["tensorboard_dir"] = logdir
        run.info["tensorboard_writer"] = EventWriter(logdir)


@hookimpl
def tfexp_log_params(run, params):
    """The params (the run's config, masked by the core) as a text panel: one step per call,
    so later params (``model.params``) do not hide the config logged at step 0."""
    if writer := writer_of(run):
        step = run.info["tensorboard_params_calls"] = run.info.get("tensorboard_params_calls", -1) + 1
        writer.text("params", "\n".join(f"    {key}: {value}" for key, value in params.items()), step=step)


@hookimpl
def tfexp_log_metrics(run, metrics, step):
    if writer := writer_of(run):
        writer.scalars(metrics, step)


def override_values(overrides: list[str]) -> dict[str, float | str]:
    """``["model=cnn", "trainer.learning_rate=0.01"]`` -> HParams values (numbers as floats)."""
    values: dict[str, float | str] = {}
    for override in overrides:
        key, sep, value = override.lstrip("+~").partition("=")
        if sep:
            try:
                values[key] = float(value)
            except ValueError:
                values[key] = value
    return values


def dashboard_metrics(run) -> dict[str, str]:
    """The HParams dashboard's columns (tag -> title): ``objective`` first, named after
    ``sweep.objective``, then the test metrics and the last validation metrics."""
    metrics = {"objective": f"objective ({run.cfg.sweep.objective})"}
    for name in [*sorted(run.test_metrics), *sorted(k for k in run.history if k.startswith("val_"))]:
        metrics.setdefault(name, name)
    return metrics


@hookimpl
def tfexp_flush_tracking(run):
    if writer := writer_of(run):
        writer.flush()


@hookimpl
def tfexp_after_run(run, status):
    if writer := writer_of(run):
        if run.overrides:  # the HParams dashboard compares the jobs of a sweep
            from tfexp.run_facts import masked_overrides

            writer.hparams(override_values(masked_overrides(run.overrides)), trial_id=run.output_dir.name)
            writer.hparams_config(list(override_values(run.overrides)), dashboard_metrics(run))
        writer.close()
        run.log_artifact(run.info["tensorboard_dir"], "tensorboard")
        run.summary.append(f"TensorBoard: tensorboard --logdir {run.info['tensorboard_dir']}")


@hookimpl
def tfexp_sweep_end(sweep, summary):
    """Every job's event log is under the sweep's directory: one TensorBoard compares them."""
    if sweep.cfg.tracking.tensorboard:
        summary.lines.append(f"TensorBoard (all jobs): tensorboard --logdir {sweep.directory}")
