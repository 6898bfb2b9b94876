"""Built-in export plugin: best checkpoint, serving formats, prediction parameters (docs/export.md).

Always on (not a technique). Per-run state lives in ``run.info["best_checkpoint"]``, so
nothing leaks between the jobs of a multirun. Nothing heavy is imported here.
"""

from __future__ import annotations

import logging

from tfexp import hookimpl

log = logging.getLogger("tfexp.export")


@hookimpl
def tfexp_configure(cfg):
    from tfexp_export.config import check_config

    check_config(cfg)


@hookimpl
def tfexp_before_run(run):
    best = run.cfg.trainer.best_checkpoint
    if best.metric:
        from tfexp_export.best_checkpoint import BestCheckpoint

        run.info["best_checkpoint"] = BestCheckpoint(run.output_dir / "best_checkpoint", best.metric, best.mode)


@hookimpl
def tfexp_on_epoch_end(run, epoch, logs):
    if (tracker := run.info.get("best_checkpoint")) and run.model is not None:
        tracker.observe(run.model, epoch, logs)


@hookimpl
def tfexp_after_fit(run, model, history):
    """Put the best epoch's weights back before evaluation: test metrics, the exported and
    the logged model are then all of the best checkpoint."""
    if not (tracker := run.info.get("best_checkpoint")):
        return
    if tracker.restore(model):
        run.log_artifact(tracker.info_path, "best_checkpoint")
        run.set_tags({"tfexp.best_epoch": str(tracker.best["epoch"])})
        run.summary.append(tracker.describe())
    else:
        known = ", ".join(sorted(run.history)) or "none"
        log.warning("trainer.best_checkpoint.metric=%s was never reported by an epoch; the last epoch's model is used. Epoch metrics: %s", tracker.metric, known)


@hookimpl(trylast=True)
def tfexp_export_model(run, model):
    """After the core logged ``model`` to the trackers: write the formats, then add the
    prediction parameters to the logged model."""
    from tfexp_export.config import export_config

    cfg = export_config(run.cfg)
    if cfg.formats:
        from tfexp_export.exporter import export_run

        export = export_run(run, model, cfg)
        log.info(export.describe(cfg.tflite.quantization))
        run.log_metrics(export.scores, step=run.cfg.trainer.epochs)
        run.set_tags(export.tags())  # bookkeeping, not training curves: tags, not metrics
        run.log_artifact(export.path, f"export/{export.model_name}/{export.version}")
        run.summary.append(f"exported: {export.path}")
    if run.cfg.tracking.log_model:
        attach_prediction_params(run)


def attach_prediction_params(run) -> None:
    """Prediction parameters into the logged model (trackers that keep models store them)."""
    import json
    import tempfile
    from pathlib import Path

    from tfexp_export.prediction_params import FILENAME, prediction_params

    with tempfile.TemporaryDirectory() as scratch:
        path = Path(scratch) / FILENAME
        path.write_text(json.dumps(prediction_params(run), indent=2) + "\n")
        run.log_model_file(path)
