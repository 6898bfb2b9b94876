"""CSV tracker (``tracking=csv``, or ``tracking.csv=true`` beside MLflow): plain files per run
in its output directory, written from what the core sends through the tracking sink (see
:mod:`tfexp_csv.files`). Only the chief of a cluster writes.
"""

from __future__ import annotations

from tfexp import hookimpl
from tfexp.cluster import is_chief


def files_of(run):
    return run.info.get("csv")


@hookimpl
def tfexp_before_run(run):
    if run.cfg.tracking.csv and is_chief():
        from tfexp_csv.files import CsvRun

        run.info["csv"] = CsvRun(run.output_dir, epoch=run.initial_epoch)


@hookimpl
def tfexp_log_params(run, params):
    if files := files_of(run):
        files.log_params(params)


@hookimpl
def tfexp_set_tags(run, tags):
    if files := files_of(run):
        files.set_tags(tags)


@hookimpl
def tfexp_log_metrics(run, metrics, step):
    if files := files_of(run):
        files.log_metrics(metrics, step)


@hookimpl
def tfexp_on_epoch_end(run, epoch, logs):
    if files := files_of(run):
        files.epoch = epoch + 1


@hookimpl
def tfexp_on_checkpoint_restored(run, epoch):
    if files := files_of(run):  # the repeated epochs' values replace the ones logged before
        files.epoch = epoch + 1


@hookimpl
def tfexp_flush_tracking(run):
    if files := files_of(run):
        files.write_metrics()


@hookimpl(trylast=True)  # after other plugins' after_run, which may still log
def tfexp_after_run(run, status):
    if files := files_of(run):
        files.set_tags({"tfexp.status": status})
        path = files.write_metrics()
        run.summary.append(f"CSV: {path} (hparams.yaml, tags.yaml beside it)")
