"""Multirun tracking: one MLflow parent run per sweep, one child run per job.

A Hydra callback (configured in ``tfexp/conf/config.yaml``) opens the parent before the
first job and writes the summary after the last. Jobs find their parent through the
``TFEXP_SWEEP_PARENT_RUN_ID`` environment variable, set in each job's process when it
starts (``on_job_start`` runs there, whatever the launcher); the MLflow tracker then tags
them ``mlflow.parentRunId`` and logs them into the parent's experiment. The parent also
creates the store and experiment once, before parallel jobs could race to do it.

Resuming: every parent is tagged with a key for its sweep (tfexp's Optuna sweeper: the
study's storage and name; any other sweeper: the command's overrides). An Optuna sweep, or
a grid sweep with ``sweep.resume=true``, reopens the last parent with that key instead of
making a new one. A grid job whose child run already FINISHED there is skipped: this
callback knows them when the sweep starts and marks the job in ``on_job_start``
(``TFEXP_SWEEP_DONE``), and the task function returns that run's objective without
training. Jobs are matched by their overrides, so a job keeps its result when the grid
around it grows.
"""

from __future__ import annotations

import hashlib
import logging
import math
import os
from pathlib import Path
from typing import Any

from hydra.errors import HydraException
from hydra.experimental.callback import Callback
from omegaconf import DictConfig

from tfexp.pruning import TrialPruned
from tfexp.secrets import redact

log = logging.getLogger("tfexp.sweep")

PARENT_ENV = "TFEXP_SWEEP_PARENT_RUN_ID"
URI_ENV = "MLFLOW_TRACKING_URI"
DONE_ENV = "TFEXP_SWEEP_DONE"
"""Set in a job's process when the job already FINISHED: ``<run id> <objective>``."""
OPTUNA = "hydra_plugins.tfexp_optuna_sweeper.sweeper.TfexpOptunaSweeper"


def job_key(overrides) -> str:
    """A job's overrides as its child run's ``tfexp.overrides`` tag holds them, without
    ``sweep.resume`` (a rerun adds it)."""
    from tfexp.secrets import redact

    return " ".join(o for o in redact(list(overrides)) if not o.startswith("sweep.resume="))


def sweep_key(config: DictConfig) -> tuple[str, bool]:
    """What identifies this sweep across reruns, and whether a rerun resumes it."""
    if config.hydra.sweeper._target_ == OPTUNA:
        from hydra_plugins.tfexp_optuna_sweeper.study import check_names, identity, open_storage

        check_names(config.hydra.sweeper)  # before the parent run exists
        url, name = identity(config)
        open_storage(url)
        key, resume = f"optuna study {name!r} in {url}", True
    else:
        key, resume = f"{config.tracking.experiment_name}: {' '.join(sorted(job_key(config.hydra.overrides.task).split()))}", config.sweep.resume
    return hashlib.sha256(key.encode()).hexdigest()[:24], resume


def finished_job() -> tuple[str, float] | None:
    """This job's earlier FINISHED run and its objective, when a resumed sweep skips it."""
    if not (done := os.environ.get(DONE_ENV)):
        return None
    run_id, objective = done.split()
    return run_id, float(objective)


def job_result(run) -> float | list[float]:
    """What a job hands its sweeper: ``sweep.objective``, or one value per ``sweep.objectives``."""
    objectives = run.cfg.sweep.objectives
    return [run.metric(name) for name in objectives] if objectives else run.objective


def job_count(config: DictConfig) -> int | None:
    """How many jobs the sweep runs, when that is known up front: Optuna's ``n_trials`` (the
    study's total: a resumed study runs fewer), or the size of the basic sweeper's grid
    (None for ``glob()``, which needs Hydra's config loader, and for other sweepers)."""
    sweeper = config.hydra.sweeper
    if sweeper.get("sampler") == "grid":  # tfexp's Optuna sweeper: at most the grid's size
        from hydra_plugins.tfexp_optuna_sweeper.sweeper import plan

        return plan(sweeper, list(config.hydra.overrides.task))[3]
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


def parent_name(config: DictConfig, jobs: int | None) -> str:
    """``sweep: model, seed (4 jobs)``; ``tracking.run_name`` when set."""
    if config.tracking.run_name:
        return config.tracking.run_name
    return f"sweep: {', '.join(swept(config)) or 'overrides'}" + (f" ({jobs} jobs)" if jobs else "")


class SweepTracker(Callback):
    """Opens and closes the sweep's parent run; prints one progress line per job."""

    def __init__(self) -> None:
        self.parent_id: str | None = None
        self.client: Any = None
        self.uri = ""
        self.jobs: int | None = None
        self.finished: dict[str, str] = {}
        """Resumed grid sweeps: job key -> ``<run id> <objective>`` of its FINISHED run."""
        self.swept_keys: list[str] = []

    def on_multirun_start(self, config: DictConfig, **kwargs: Any) -> None:
        if not config.tracking.mlflow:
            return
        from mlflow import MlflowClient

        from tfexp_mlflow.session import ensure_experiment, tracking_uri

        self.uri = tracking_uri(config)
        self.client = MlflowClient(self.uri)
        experiment_id = ensure_experiment(self.client, config.tracking.experiment_name, self.uri)
        key, resume = sweep_key(config)
        self.jobs, self.swept_keys = job_count(config), list(swept(config))
        previous = self.client.search_runs(
            [experiment_id], f"tags.`tfexp.sweep_key` = '{key}'", order_by=["attributes.start_time DESC"], max_results=1
        ) if resume else []
        if previous:
            self.parent_id = previous[0].info.run_id
            self.resume_parent()
            log.info("Sweep resumes its parent MLflow run %s in %s (%d jobs FINISHED)", self.parent_id, self.uri, len(self.finished))
        else:
            sweep_dir = Path(config.hydra.sweep.dir).resolve()
            parent = self.client.create_run(
                experiment_id,
                run_name=parent_name(config, self.jobs),
                tags={
                    "tfexp.sweep": "parent",
                    "tfexp.sweep_key": key,
                    "tfexp.sweep_dir": str(sweep_dir),
                    "tfexp.overrides": " ".join(redact(list(config.hydra.overrides.task))),
                    "tfexp.objective": f"{config.sweep.objective} ({config.sweep.direction})",
                },
            )
            self.parent_id = parent.info.run_id
            log.info("Sweep parent MLflow run %s in %s", self.parent_id, self.uri)

    def resume_parent(self) -> None:
        """Reopen the parent; children a killed sweep left RUNNING become KILLED, FINISHED
        ones are remembered so their jobs are skipped."""
        self.client.update_run(self.parent_id, status="RUNNING")
        parent = self.client.get_run(self.parent_id)
        children = self.client.search_runs([parent.info.experiment_id], f"tags.mlflow.parentRunId = '{self.parent_id}'")
        for child in children:
            if child.info.status == "RUNNING":
                self.client.set_terminated(child.info.run_id, "KILLED")
            elif child.info.status == "FINISHED" and "objective" in child.data.metrics:
                key = job_key(child.data.tags.get("tfexp.overrides", "").split())
                self.finished[key] = f"{child.info.run_id} {child.data.metrics['objective']}"

    def on_job_start(self, config: DictConfig, **kwargs: Any) -> None:
        """Runs in the job's own process, wherever the launcher put it (a Ray worker on
        another machine inherits no environment from this one): join the parent, and log to
        its store when the job has no ``tracking.uri`` of its own."""
        if self.parent_id is not None:
            from tfexp_mlflow.names import JOB_NAME_ENV, job_name

            os.environ[PARENT_ENV] = self.parent_id
            os.environ.setdefault(URI_ENV, self.uri)
            os.environ.pop(DONE_ENV, None)
            os.environ[JOB_NAME_ENV] = job_name(config.hydra.overrides.task, self.swept_keys)
            if config.sweep.resume and (done := self.finished.get(job_key(config.hydra.overrides.task))):
                os.environ[DONE_ENV] = done

    def on_job_end(self, config: DictConfig, job_return: Any, **kwargs: Any) -> None:
        if self.parent_id is None:  # a single run, or a sweep without MLflow
            return
        value = job_return.return_value if job_return.status.name == "COMPLETED" else None
        shown = "n/a" if value is None or (isinstance(value, float) and math.isnan(value)) else f"{value:.4f}"
        if isinstance(value, list):  # sweep.objectives
            shown = ", ".join(f"{v:.4g}" for v in value)
        if isinstance(job_return._return_value, TrialPruned):
            shown = f"pruned after epoch {job_return._return_value.epoch}"
        num = config.hydra.job.num
        progress = f"{num + 1}/{self.jobs}" if self.jobs else f"#{num}"
        log.info("[sweep] job %s done: %s  objective=%s", progress, " ".join(redact(list(config.hydra.overrides.task))), shown)

    def on_multirun_end(self, config: DictConfig, **kwargs: Any) -> None:
        if self.parent_id is None:
            return
        from tfexp.sweep_summary import summarize
        from tfexp_mlflow.names import JOB_NAME_ENV

        os.environ.pop(PARENT_ENV, None)  # set by on_job_start when jobs ran in this process
        os.environ.pop(DONE_ENV, None)
        os.environ.pop(JOB_NAME_ENV, None)
        if config.hydra.sweeper._target_ == OPTUNA:
            from hydra_plugins.tfexp_optuna_sweeper.report import log_study

            log_study(self.client, self.parent_id, config, Path(config.hydra.sweep.dir) / "summary" / "study")
        summary = summarize(
            self.client, self.parent_id, Path(config.hydra.sweep.dir), config.sweep.objective, config.sweep.direction,
            register_best=config.sweep.register_best, alias=config.tracking.register_alias,
        )
        log.info(summary.describe(self.uri, self.parent_id, self.client.get_run(self.parent_id).info.experiment_id))
        if summary.failed:
            raise SystemExit(1)
