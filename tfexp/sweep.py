"""Multirun tracking: one MLflow parent run per sweep, one child run per job.

A Hydra callback (configured in ``tfexp/conf/config.yaml``) opens the parent before the
first job and writes the summary after the last. Jobs find their parent through the
``TFEXP_SWEEP_PARENT_RUN_ID`` environment variable, set in each job's process when it
starts (``on_job_start`` runs there, whatever the launcher); the MLflow tracker then tags
them ``mlflow.parentRunId`` and logs them into the parent's experiment. The parent also
creates the store and experiment once, before parallel jobs could race to do it.
"""

from __future__ import annotations

import logging
import math
import os
from pathlib import Path
from typing import Any

from hydra.errors import HydraException
from hydra.experimental.callback import Callback
from omegaconf import DictConfig

log = logging.getLogger("tfexp.sweep")

PARENT_ENV = "TFEXP_SWEEP_PARENT_RUN_ID"
URI_ENV = "MLFLOW_TRACKING_URI"


def job_count(config: DictConfig) -> int | None:
    """How many jobs the sweep runs, when that is known up front: Optuna's ``n_trials``, or
    the size of the basic sweeper's grid (None for ``glob()``, which needs Hydra's config
    loader, and for other sweepers)."""
    from hydra.core.override_parser.overrides_parser import OverridesParser

    sweeper = config.hydra.sweeper
    if "n_trials" in sweeper:
        return int(sweeper.n_trials)
    if not sweeper._target_.endswith(".BasicSweeper"):
        return None
    arguments = [f"{key}={value}" for key, value in (sweeper.params or {}).items()] + list(config.hydra.overrides.task)
    by_key = {o.get_key_element(): o for o in OverridesParser.create().parse_overrides(arguments)}  # the last one wins
    try:
        return math.prod(len(list(o.sweep_string_iterator())) for o in by_key.values() if o.is_sweep_override())
    except HydraException:
        return None


class SweepTracker(Callback):
    """Opens and closes the sweep's parent run; prints one progress line per job."""

    def __init__(self) -> None:
        self.parent_id: str | None = None
        self.client: Any = None
        self.uri = ""
        self.jobs: int | None = None

    def on_multirun_start(self, config: DictConfig, **kwargs: Any) -> None:
        if not config.tracking.mlflow:
            return
        from mlflow import MlflowClient

        from tfexp_mlflow.session import ensure_experiment, tracking_uri

        self.uri = tracking_uri(config)
        self.client = MlflowClient(self.uri)
        experiment_id = ensure_experiment(self.client, config.tracking.experiment_name, self.uri)
        sweep_dir = Path(config.hydra.sweep.dir).resolve()
        parent = self.client.create_run(
            experiment_id,
            run_name=f"sweep {config.hydra.sweep.dir}",
            tags={
                "tfexp.sweep": "parent",
                "tfexp.sweep_dir": str(sweep_dir),
                "tfexp.overrides": " ".join(config.hydra.overrides.task),
                "tfexp.objective": f"{config.sweep.objective} ({config.sweep.direction})",
            },
        )
        self.parent_id = parent.info.run_id
        self.jobs = job_count(config)
        log.info("Sweep parent MLflow run %s in %s", self.parent_id, self.uri)

    def on_job_start(self, config: DictConfig, **kwargs: Any) -> None:
        """Runs in the job's own process, wherever the launcher put it (a Ray worker on
        another machine inherits no environment from this one): join the parent, and log to
        its store when the job has no ``tracking.uri`` of its own."""
        if self.parent_id is not None:
            os.environ[PARENT_ENV] = self.parent_id
            os.environ.setdefault(URI_ENV, self.uri)

    def on_job_end(self, config: DictConfig, job_return: Any, **kwargs: Any) -> None:
        if self.parent_id is None:  # a single run, or a sweep without MLflow
            return
        value = job_return.return_value if job_return.status.name == "COMPLETED" else None
        shown = "n/a" if value is None or (isinstance(value, float) and math.isnan(value)) else f"{value:.4f}"
        num = config.hydra.job.num
        progress = f"{num + 1}/{self.jobs}" if self.jobs else f"#{num}"
        log.info("[sweep] job %s done: %s  objective=%s", progress, " ".join(config.hydra.overrides.task), shown)

    def on_multirun_end(self, config: DictConfig, **kwargs: Any) -> None:
        if self.parent_id is None:
            return
        from tfexp.sweep_summary import summarize

        os.environ.pop(PARENT_ENV, None)  # set by on_job_start when jobs ran in this process
        summary = summarize(
            self.client, self.parent_id, Path(config.hydra.sweep.dir), config.sweep.objective, config.sweep.direction,
            register_best=config.sweep.register_best, alias=config.tracking.register_alias,
        )
        log.info(summary.describe(self.uri, self.parent_id))
        if summary.failed:
            raise SystemExit(1)
