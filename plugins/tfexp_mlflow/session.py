"""The MLflow side of one run: where it logs, what it logs at start and end."""

from __future__ import annotations

import logging
import os
import subprocess
from dataclasses import dataclass
from pathlib import Path

from omegaconf import OmegaConf

from tfexp import __version__
from tfexp.sweep import PARENT_ENV
from tfexp_mlflow.buffer import MetricBuffer
from tfexp_mlflow.params import flatten_config

log = logging.getLogger("tfexp.mlflow")

MAX_PARAMS_PER_BATCH = 100  # MLflow's log_batch limit


def tracking_uri(cfg) -> str:
    """``tracking.uri``, else ``$MLFLOW_TRACKING_URI``, else ``<cwd>/mlflow.db`` (absolute)."""
    return cfg.tracking.uri or os.environ.get("MLFLOW_TRACKING_URI") or f"sqlite:///{Path.cwd() / 'mlflow.db'}"


def ensure_experiment(client, name: str, uri: str) -> str:
    """The experiment's id; a new one in the embedded store keeps artifacts beside the db."""
    found = client.get_experiment_by_name(name)
    if found is not None:
        return found.experiment_id
    location = None
    if uri.startswith("sqlite:///"):
        location = (Path(uri.removeprefix("sqlite:///")).parent / "mlartifacts").as_uri()
    return client.create_experiment(name, artifact_location=location)


def git_commit(cwd: Path) -> str | None:
    """The user's commit (MLflow's own git tag describes tfexp's install under ``-m``)."""
    try:
        out = subprocess.run(["git", "rev-parse", "HEAD"], cwd=cwd, capture_output=True, text=True, timeout=5)
    except (OSError, subprocess.TimeoutExpired):
        return None
    return out.stdout.strip() if out.returncode == 0 else None


def run_tags(run) -> dict[str, str]:
    cfg = run.cfg
    tags = {
        "tfexp.version": __version__,
        "tfexp.technique": cfg.technique.name,
        "tfexp.model": cfg.model.name,
        "tfexp.data": cfg.data.name,
        "tfexp.strategy": cfg.strategy.name,
        "tfexp.output_dir": str(run.output_dir),
        "mlflow.source.name": "python -m tfexp",
    }
    from tfexp.plugins import get_plugin_manager

    pm = get_plugin_manager()
    tags["tfexp.plugins"] = ", ".join(sorted(f"{name}=={dist.version}" for name, dist in pm.distributions.items()))
    if commit := git_commit(Path.cwd()):
        tags["mlflow.source.git.commit"] = commit
    if run.overrides:
        tags["tfexp.overrides"] = " ".join(run.overrides)
    if (job := _hydra_job_num()) is not None:
        tags["tfexp.job"] = str(job)
    return tags


@dataclass
class Session:
    client: object
    uri: str
    experiment_id: str
    run_id: str
    buffer: MetricBuffer

    @classmethod
    def start(cls, run) -> Session:
        import mlflow
        from mlflow import MlflowClient

        cfg = run.cfg
        uri = tracking_uri(cfg)
        mlflow.set_tracking_uri(uri)
        client = MlflowClient(uri)
        tags = run_tags(run)
        if parent_id := os.environ.get(PARENT_ENV):  # a job of a sweep: join the parent
            experiment_id = client.get_run(parent_id).info.experiment_id
            tags["mlflow.parentRunId"] = parent_id
        else:
            experiment_id = ensure_experiment(client, cfg.tracking.experiment_name, uri)
        active = mlflow.start_run(experiment_id=experiment_id, run_name=cfg.tracking.run_name, tags=tags)
        run_id = active.info.run_id
        session = cls(client, uri, experiment_id, run_id, MetricBuffer(client, run_id, cfg.tracking.flush_interval_s))
        session.log_params(flatten_config(OmegaConf.to_container(cfg, resolve=True)))
        client.log_text(run_id, OmegaConf.to_yaml(cfg, resolve=True), "config/config.yaml")
        hydra_dir = run.output_dir / ".hydra"
        if hydra_dir.is_dir():
            client.log_artifacts(run_id, str(hydra_dir), "config/hydra")
        return session

    def log_params(self, params: dict) -> None:
        from mlflow.entities import Param

        items = [Param(k, v) for k, v in params.items()]
        for i in range(0, len(items), MAX_PARAMS_PER_BATCH):
            self.client.log_batch(self.run_id, params=items[i : i + MAX_PARAMS_PER_BATCH])

    def set_tags(self, tags: dict) -> None:
        from mlflow.entities import RunTag

        self.client.log_batch(self.run_id, tags=[RunTag(k, str(v)) for k, v in tags.items()])

    def log_artifact(self, path: str, artifact_path: str | None) -> None:
        if Path(path).is_dir():
            self.client.log_artifacts(self.run_id, path, artifact_path)
        else:
            self.client.log_artifact(self.run_id, path, artifact_path)

    def log_keras_model(self, model, datasets, name: str) -> None:
        """Keras flavor with a signature. (mlflow 3.17's keras flavor cannot save an
        ``input_example``: it writes the example before creating the model directory.)"""
        import mlflow
        from mlflow.models import infer_signature

        signature = None
        if datasets is not None:
            example = datasets.x_test[:5]
            signature = infer_signature(example, model.predict(example, verbose=0))
        mlflow.keras.log_model(model, name=name, signature=signature)

    def finish(self, run, status: str) -> None:
        import mlflow

        try:
            self.buffer.close()
            log_file = run.output_dir / f"{_job_name()}.log"
            if log_file.is_file():
                self.client.log_artifact(self.run_id, str(log_file), "logs")
        finally:
            mlflow.end_run(status)
        run.summary.append(f"MLflow run {self.run_id} ({status}) in {self.uri}")
        if self.uri.startswith("sqlite:"):
            run.summary.append(f"open it: mlflow ui --backend-store-uri {self.uri} --host 127.0.0.1 --port 5000")
        base = "http://127.0.0.1:5000" if self.uri.startswith("sqlite:") else self.uri.rstrip("/")
        run.summary.append(f"  then {base}/#/experiments/{self.experiment_id}/runs/{self.run_id}")


def _job_name() -> str:
    from hydra.core.hydra_config import HydraConfig

    return HydraConfig.get().job.name if HydraConfig.initialized() else "tfexp"


def _hydra_job_num() -> int | None:
    """The job's number within a multirun (None for a single run)."""
    from hydra.core.hydra_config import HydraConfig
    from hydra.types import RunMode

    if HydraConfig.initialized() and HydraConfig.get().mode == RunMode.MULTIRUN:
        return HydraConfig.get().job.num
    return None
