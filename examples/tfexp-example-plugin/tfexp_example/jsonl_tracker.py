"""A complete third-party tracker, written only from docs/plugins.md: every event tfexp
sends a tracker becomes one JSON object on a line.

- a run: ``<output_dir>/events.jsonl``: start, params, tags, metrics, artifacts, model,
  error (with its traceback), end (with the status);
- a sweep: ``<sweep dir>/sweep_events.jsonl``: sweep_start, one sweep_job_end per job
  (overrides, status, objective), sweep_end (best job, failures, seed aggregates, files).

It is on whenever it is installed; ``TFEXP_DISABLE_PLUGINS=example_jsonl`` turns it off.
Only the chief of a multi-worker cluster writes, like every tracker.
"""

from __future__ import annotations

import json
import time
import traceback
from pathlib import Path

from tfexp import hookimpl
from tfexp.cluster import is_chief

RUN_EVENTS, SWEEP_EVENTS = "events.jsonl", "sweep_events.jsonl"


def append(path: Path, event: str, /, **fields) -> None:
    """One line per event; appending keeps what a resumed run or an earlier job wrote."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a") as file:
        file.write(json.dumps({"event": event, "time": time.time(), **fields}, default=str) + "\n")


def record(run, event: str, /, **fields) -> None:
    if is_chief():
        append(Path(run.output_dir) / RUN_EVENTS, event, **fields)


@hookimpl
def tfexp_before_run(run):
    record(run, "start", output_dir=str(run.output_dir), resumed=bool(run.info.get("resume")))


@hookimpl
def tfexp_log_params(run, params):
    record(run, "params", params=params)


@hookimpl
def tfexp_set_tags(run, tags):
    record(run, "tags", tags=tags)


@hookimpl
def tfexp_log_metrics(run, metrics, step):
    record(run, "metrics", step=step, metrics=metrics)


@hookimpl
def tfexp_log_artifact(run, path, artifact_path):
    record(run, "artifact", path=path, artifact_path=artifact_path)


@hookimpl
def tfexp_log_model(run, model, name):
    record(run, "model", name=name, params=model.count_params())


@hookimpl
def tfexp_on_run_error(run, error):
    record(run, "error", error=f"{type(error).__name__}: {error}", traceback="".join(traceback.format_exception(error)))


@hookimpl(trylast=True)  # after other plugins' after_run, which may still log (TensorBoard's event files)
def tfexp_after_run(run, status):
    record(run, "end", status=status)


@hookimpl
def tfexp_sweep_start(sweep):
    append(sweep.directory / SWEEP_EVENTS, "sweep_start", name=sweep.name, space=sweep.space, overrides=sweep.overrides,
           n_jobs=sweep.n_jobs, objective=sweep.objective, direction=sweep.direction)


@hookimpl
def tfexp_sweep_job_end(sweep, job):
    append(sweep.directory / SWEEP_EVENTS, "sweep_job_end", index=job.index, overrides=job.overrides, status=job.status,
           objective=job.objective, value=job.value, output_dir=job.output_dir, error=job.error)


@hookimpl
def tfexp_sweep_end(sweep, summary):
    append(sweep.directory / SWEEP_EVENTS, "sweep_end", jobs=len(summary.jobs), failed=len(summary.failed),
           best=summary.best.index if summary.best else None, metrics=summary.metrics, tags=summary.tags,
           aggregates={config: agg._asdict() for config, agg in summary.aggregates.items()}, files=summary.files)
