"""Multiruns: the core's Hydra callback fires the sweep hooks and writes the summary.

A Hydra callback (configured in ``tfexp/conf/config.yaml``) builds the
:class:`~tfexp.sweep_records.Sweep` before the first job and fires ``tfexp_sweep_start``;
trackers open their record of it there (MLflow: the parent run). Every job's process gets
the same sweep (:func:`current_sweep`, through ``TFEXP_SWEEP`` set in ``on_job_start``, which
runs there whatever the launcher), so a job's run can join it. When a job ends, the callback
records what it returned in ``<sweep dir>/<job number>/sweep_job.json``, fires
``tfexp_sweep_job_end`` and prints one line. After the last job it reads those records, writes
the summary (tfexp/sweep_summary.py) and fires ``tfexp_sweep_end``; no tracker is needed for any of it.

Resuming: a sweep has a key (the command's overrides; a sweeper may set its own, e.g. the
Optuna study). With ``sweep.resume=true`` a tracker that finds the sweep's earlier record fills
``sweep.finished``; those jobs return their earlier objective without training. Jobs are
matched by their overrides, so a job keeps its result when the grid around it grows.
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
import os
import time
from pathlib import Path
from typing import Any

from hydra.errors import HydraException
from hydra.experimental.callback import Callback
from omegaconf import DictConfig

from tfexp.pruning import TrialPruned
from tfexp.secrets import redact
from tfexp.sweep_records import FAILED, FINISHED, PRUNED, Sweep, SweepJob

log = logging.getLogger("tfexp.sweep")

SWEEP_ENV = "TFEXP_SWEEP"
"""The sweep (JSON, :meth:`Sweep.to_json`) in a job's process."""
JOB_FILE = "sweep_job.json"
"""A job's result in ``<sweep dir>/<job number>/``, read back by the process that launched it."""
_outcome: dict[str, Any] = {}
"""What the task function learnt about its job, for ``on_job_end`` in the same process."""


def current_sweep() -> Sweep | None:
    """The sweep this process runs a job of; None outside a multirun."""
    text = os.environ.get(SWEEP_ENV)
    return Sweep.from_json(text) if text else None


def override_pairs(overrides) -> dict[str, str]:
    """``["model=cnn", "+x=1"]`` as ``{"model": "cnn", "x": "1"}``, secrets masked."""
    return dict(o.lstrip("+~").split("=", 1) for o in redact(list(overrides)) if "=" in o)


def key_of(identity: str) -> str:
    """A sweep's key: short, and safe in any tracker's search syntax."""
    return hashlib.sha256(identity.encode()).hexdigest()[:24]


def finished_job(overrides) -> SweepJob | None:
    """This job's FINISHED result from an earlier run of the sweep (``sweep.resume``), if any."""
    if (sweep := current_sweep()) is None:
        return None
    job = sweep.finished.get(sweep.job_key(override_pairs(overrides)))
    if job is not None:
        _outcome.update(skipped=job)
    return job


def record_run(run=None, error: str = "") -> None:
    """The task function's report on its job: the run it made (metrics, tracker refs) or why it failed."""
    _outcome.clear()
    if run is not None:
        _outcome.update(metrics=run.final_metrics(), run_refs=dict(run.tracker_refs), output_dir=str(run.output_dir))
    if error:
        _outcome.update(error=error)


def job_result(run) -> float | list[float]:
    """What a job hands its sweeper: ``sweep.objective``, or one value per ``sweep.objectives``."""
    objectives = run.cfg.sweep.objectives
    return [run.metric(name) for name in objectives] if objectives else run.objective


def job_count(config: DictConfig) -> int | None:
    """How many jobs the sweep runs, when that is known up front: ``n_trials``, or the size
    of the basic sweeper's grid (None for ``glob()``, which needs Hydra's config loader, and
    for other sweepers: a sweeper may set ``sweep.n_jobs`` in ``tfexp_sweep_start``)."""
    sweeper = config.hydra.sweeper
    if "n_trials" in sweeper:
        return int(sweeper.n_trials)
    if not sweeper._target_.endswith(".BasicSweeper"):
        return None
    try:
        return math.prod(len(list(o.sweep_string_iterator())) for o in swept(config).values())
    except HydraException:
        return None


def swept(config: DictConfig) -> dict:
    """The sweep overrides by key (``hydra.sweeper.params``, then the command line: the last
    one wins), e.g. ``{"model": <model=mlp,cnn>, "seed": <seed=1,2>}``."""
    from hydra.core.override_parser.overrides_parser import OverridesParser

    arguments = [f"{key}={value}" for key, value in (config.hydra.sweeper.get("params") or {}).items()]
    by_key = {o.get_key_element(): o for o in OverridesParser.create().parse_overrides(arguments + list(config.hydra.overrides.task))}
    return {key: o for key, o in by_key.items() if o.is_sweep_override()}


def new_sweep(config: DictConfig) -> Sweep:
    """The sweep a multirun's config describes (before any tracker saw it)."""
    space = {o.key_or_group: o.input_line.split("=", 1)[1] for o in swept(config).values()}
    n_jobs = job_count(config)
    name = config.tracking.run_name or f"sweep: {', '.join(space) or 'overrides'}" + (f" ({n_jobs} jobs)" if n_jobs else "")
    overrides = redact(list(config.hydra.overrides.task))
    identity = " ".join(sorted(o for o in overrides if not o.startswith("sweep.resume=")))
    return Sweep(
        directory=Path(config.hydra.sweep.dir).resolve(), name=name, space=space, overrides=overrides, n_jobs=n_jobs,
        objective=config.sweep.objective, direction=config.sweep.direction,
        key=key_of(f"{config.tracking.experiment_name}: {identity}"), resume=bool(config.sweep.resume), cfg=config,
    )


def ended_job(sweep: Sweep, config: DictConfig, job_return: Any, duration_s: float) -> SweepJob:
    """The job as it ended: Hydra's return plus what the task function recorded."""
    outcome = dict(_outcome)
    _outcome.clear()
    overrides = override_pairs(config.hydra.overrides.task)
    if skipped := outcome.get("skipped"):
        return SweepJob(**{**skipped.to_dict(), "index": config.hydra.job.num, "overrides": overrides, "duration_s": duration_s})
    returned = job_return._return_value
    value, status, error = math.nan, FINISHED, outcome.get("error", "")
    if isinstance(returned, TrialPruned):
        status = PRUNED
    elif job_return.status.name != "COMPLETED":
        status, error = FAILED, error or f"{type(returned).__name__}: {returned}"
    elif error:
        status = FAILED
    else:
        value = returned
    return SweepJob(
        index=config.hydra.job.num, overrides=overrides, status=status, objective=sweep.objective, value=value,
        metrics=outcome.get("metrics", {}), output_dir=Path(outcome.get("output_dir") or config.hydra.runtime.output_dir),
        duration_s=duration_s, run_refs=outcome.get("run_refs", {}), error=error,
    )


def job_line(sweep: Sweep, job: SweepJob) -> str:
    """One console line per job: its swept values, the objective and how long it took."""
    progress = f"{job.index + 1}/{sweep.n_jobs}" if sweep.n_jobs else f"#{job.index}"
    if job.status == FINISHED:
        values = job.value if isinstance(job.value, list) else [job.value]
        objectives = list(sweep.cfg.sweep.objectives) if sweep.cfg is not None and sweep.cfg.sweep.objectives else [sweep.objective]
        result = "  ".join(f"{name}={value:.4g}" for name, value in zip(objectives, values))
    elif job.status == PRUNED:
        result = "pruned"
    else:
        result = f"FAILED: {job.error}"
    return f"[sweep] job {progress} {sweep.label(job.overrides)}: {result} ({job.duration_s:.1f} s)"


def read_jobs(sweep: Sweep) -> list[SweepJob]:
    """Every job's record; a job directory without one is a job that died (FAILED). A resumed
    sweep's jobs that FINISHED before and were not launched again (Optuna's) count too."""
    jobs = {job.index: job for job in sweep.finished.values() if job.index >= 0}
    for directory in sorted(sweep.directory.iterdir()) if sweep.directory.is_dir() else []:
        record = directory / JOB_FILE
        if record.is_file():
            job = SweepJob.from_dict(json.loads(record.read_text()))
            jobs[job.index] = job
        elif directory.name.isdigit() and int(directory.name) not in jobs:
            overrides = directory / ".hydra" / "overrides.yaml"
            pairs = override_pairs(_yaml_list(overrides)) if overrides.is_file() else {}
            jobs[int(directory.name)] = SweepJob(int(directory.name), pairs, FAILED, sweep.objective, math.nan, output_dir=directory,
                                                 error="ended without a result (killed?)")
    return [jobs[i] for i in sorted(jobs)]


def _yaml_list(path: Path) -> list[str]:
    import yaml

    return yaml.safe_load(path.read_text()) or []


class SweepCallback(Callback):
    """Fires the sweep hooks, prints one line per job and the sweep's result at the end."""

    def __init__(self) -> None:
        self.sweep: Sweep | None = None
        self.job_started = 0.0

    @staticmethod
    def fire(name: str, **kwargs: Any) -> None:
        """Every plugin's implementation runs, whichever raises: a broken tracker loses
        neither the jobs nor the summary (the failure is logged)."""
        from tfexp.always_hooks import call_isolated
        from tfexp.plugins import get_plugin_manager

        call_isolated(get_plugin_manager(), name, **kwargs)

    def on_multirun_start(self, config: DictConfig, **kwargs: Any) -> None:
        self.sweep = sweep = new_sweep(config)
        self.fire("tfexp_sweep_start", sweep=sweep)
        if sweep.finished:
            log.info("[sweep] resumed: %d jobs FINISHED before are not run again", len(sweep.finished))

    def on_job_start(self, config: DictConfig, **kwargs: Any) -> None:
        """Runs in the job's own process, wherever the launcher put it (a Ray worker on
        another machine inherits no environment from this one)."""
        if self.sweep is not None:
            os.environ[SWEEP_ENV] = self.sweep.to_json()
            self.job_started = time.monotonic()

    def on_job_end(self, config: DictConfig, job_return: Any, **kwargs: Any) -> None:
        if self.sweep is None:  # a single run
            return
        job = ended_job(self.sweep, config, job_return, time.monotonic() - self.job_started)
        record = self.sweep.directory / str(job.index) / JOB_FILE  # the launching machine's path:
        try:  # a Ray worker on that machine writes where the summary reads, whatever its own directory
            record.parent.mkdir(parents=True, exist_ok=True)
            record.write_text(json.dumps(job.to_dict(), default=float))
        except OSError as exc:
            log.warning("[sweep] job %d's result stays out of the summary: %s (give hydra.sweep.dir on a shared disk)", job.index, exc)
        self.fire("tfexp_sweep_job_end", sweep=self.sweep, job=job)
        log.info(job_line(self.sweep, job))

    def on_multirun_end(self, config: DictConfig, **kwargs: Any) -> None:
        if self.sweep is None:
            return
        from tfexp.sweep_summary import result_block, summarize

        os.environ.pop(SWEEP_ENV, None)  # set by on_job_start when jobs ran in this process
        summary = summarize(self.sweep, read_jobs(self.sweep))
        self.fire("tfexp_sweep_end", sweep=self.sweep, summary=summary)
        log.info(result_block(self.sweep, summary))
        if summary.failed:
            raise SystemExit(1)
