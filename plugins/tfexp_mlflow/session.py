"""The MLflow side of one run: where it logs, what it logs at start and end."""

from __future__ import annotations

import contextlib
import logging
import os
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

from tfexp.errors import TfexpError
from tfexp.run_facts import hydra_job_num
from tfexp.sweep import current_sweep
from tfexp_mlflow.buffer import MetricBuffer
from tfexp_mlflow.config import mlflow_config
from tfexp_mlflow.links import open_lines, run_link
from tfexp_mlflow.names import run_name
from tfexp_mlflow.params import mlflow_params
from tfexp_mlflow.spill import Spill
from tfexp_mlflow.store import prepared
from tfexp_mlflow.system_metrics import SystemMetrics

log = logging.getLogger("tfexp.mlflow")

MAX_PARAMS_PER_BATCH = 100  # MLflow's log_batch limit


def local_store_uri() -> str:
    return f"sqlite:///{Path.cwd() / 'mlflow.db'}"


PARENT_REF, URI_REF = "mlflow", "mlflow.uri"
"""Keys in a sweep's ``refs``: its parent run's id, the store that run is in."""


def parent_of(sweep) -> tuple[str, str] | None:
    """A sweep's parent run id and tracking URI, when MLflow records the sweep."""
    if sweep is None or PARENT_REF not in sweep.refs:
        return None
    return sweep.refs[PARENT_REF], sweep.refs[URI_REF]


def configured_uri(cfg) -> str:
    """``tracking.uri``, else ``$MLFLOW_TRACKING_URI``, else the store of the sweep this job is
    in (a Ray worker's own directory has none), else ``<cwd>/mlflow.db`` (absolute)."""
    parent = parent_of(current_sweep())
    return cfg.tracking.uri or os.environ.get("MLFLOW_TRACKING_URI") or (parent and parent[1]) or local_store_uri()


def tracking_uri(cfg) -> str:
    """The configured URI; a sqlite store is created whole before any MLflow client opens it."""
    return prepared(configured_uri(cfg))


def reachable_uri(cfg) -> str:
    """The tracking URI, checked before training when it is a server; with
    ``tracking.mlflow.fallback=local`` an unreachable server means the local store instead."""
    uri = tracking_uri(cfg)
    if not uri.startswith(("http://", "https://")):
        return uri
    # Fail at once, not after MLflow's default minutes of retries: the metric buffer
    # retries on its own, off the training thread.
    os.environ.setdefault("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "0")
    os.environ.setdefault("MLFLOW_HTTP_REQUEST_TIMEOUT", "20")
    try:
        urllib.request.urlopen(f"{uri.rstrip('/')}/health", timeout=5).close()
        return uri
    except OSError as exc:
        if mlflow_config(cfg).fallback == "local":
            log.warning("MLflow server %s is unreachable (%s): logging to %s instead", uri, exc, local_store_uri())
            return prepared(local_store_uri())
        raise TfexpError(
            f"MLflow server {uri} is unreachable ({exc}). Start it (mlflow server --host 127.0.0.1 --port ...), "
            f"fix tracking.uri, or log locally with tracking.mlflow.fallback=local"
        ) from None


EXPERIMENT_KIND = {"mlflow.experimentKind": "custom_model_development"}
"""Makes the MLflow 3 UI open tfexp's experiments in its model-training view (runs, charts),
not its GenAI view (traces)."""


def ensure_experiment(client, name: str, uri: str) -> str:
    """The experiment's id; a new one in the embedded store keeps artifacts beside the db,
    and is marked as model training for the UI."""
    found = client.get_experiment_by_name(name)
    if found is not None:
        return found.experiment_id
    location = None
    if uri.startswith("sqlite:///"):
        location = (Path(uri.removeprefix("sqlite:///")).parent / "mlartifacts").as_uri()
    try:
        return client.create_experiment(name, artifact_location=location, tags=EXPERIMENT_KIND)
    except Exception:  # another process created it since get_experiment_by_name
        if (found := client.get_experiment_by_name(name)) is None:
            raise
        return found.experiment_id


def latest_metrics(client, run_id: str) -> list:
    """Every metric's value at its last step, as stored (``mlflow.entities.Metric``)."""
    keys = client.get_run(run_id).data.metrics
    return [max(client.get_metric_history(run_id, key), key=lambda m: m.step) for key in keys]


def last_logged_steps(client, run_id: str) -> dict[str, int]:
    """The last step of every metric a (reopened) run already has."""
    return {m.key: m.step for m in latest_metrics(client, run_id)}


@dataclass
class Session:
    client: object
    uri: str
    experiment_id: str
    run_id: str
    buffer: MetricBuffer
    spill: Spill = field(default=None)
    system_metrics: SystemMetrics | None = None

    @classmethod
    def start(cls, run) -> Session:
        import mlflow
        from mlflow import MlflowClient

        cfg = run.cfg
        uri = reachable_uri(cfg)
        mlflow.set_tracking_uri(uri)
        client = MlflowClient(uri)
        resumed = run.info.get("resume")
        if resumed_id := resumed and resumed.tracker_refs.get("mlflow"):  # reopen the same run: RUNNING again
            active = mlflow.start_run(run_id=resumed_id)
            floor = last_logged_steps(client, active.info.run_id)
        else:
            active = cls._start_new(mlflow, client, run, uri)
            floor = {}
        run_id = active.info.run_id
        mc = mlflow_config(cfg)
        buffer = MetricBuffer(client, run_id, mc.flush_interval_s, floor=floor)
        session = cls(client, uri, active.info.experiment_id, run_id, buffer, Spill(run.output_dir / "unsent_tracking.jsonl", run_id, uri))
        if mc.system_metrics:
            session.system_metrics = SystemMetrics(run_id, uri, mc.system_metrics_interval_s, resumed=bool(resumed))
        return session

    @staticmethod
    def _start_new(mlflow, client, run, uri: str):
        tags = {"mlflow.source.name": "python -m tfexp"}  # tfexp's own tags come through the sink
        if parent := parent_of(current_sweep()):  # a job of a sweep: join the parent
            parent_id = parent[0]
            experiment_id = client.get_run(parent_id).info.experiment_id
            tags["mlflow.parentRunId"] = parent_id
            if (job := hydra_job_num()) is not None:  # from its first moment: a job killed before its tags arrive still says which it was
                tags["tfexp.job"] = str(job)
        else:
            experiment_id = ensure_experiment(client, run.cfg.tracking.experiment_name, uri)
        return mlflow.start_run(experiment_id=experiment_id, run_name=run_name(run), tags=tags)

    def tolerant(self, action, *args) -> None:
        """Run a logging call; if the server is lost mid-run, warn and keep training."""
        try:
            action(*args)
        except Exception as exc:
            log.warning("MLflow call %s failed (%s); the run goes on", action.__name__, exc)

    def log_params(self, params: dict) -> None:
        from mlflow.entities import Param

        items = [Param(k, v) for k, v in mlflow_params(params).items()]
        for i in range(0, len(items), MAX_PARAMS_PER_BATCH):
            self.client.log_batch(self.run_id, params=items[i : i + MAX_PARAMS_PER_BATCH])

    def set_tags(self, tags: dict) -> None:
        from mlflow.entities import RunTag

        if "tfexp.git_commit" in tags:  # where the MLflow UI shows a run's commit
            tags = {**tags, "mlflow.source.git.commit": tags["tfexp.git_commit"]}
        self.client.log_batch(self.run_id, tags=[RunTag(k, str(v)) for k, v in tags.items()])

    def log_artifact(self, path: str, artifact_path: str | None) -> None:
        """Upload now; if the server is gone, remember it for ``python -m tfexp_mlflow.spill``."""
        try:
            if Path(path).is_dir():
                self.client.log_artifacts(self.run_id, path, artifact_path)
            else:
                self.client.log_artifact(self.run_id, path, artifact_path)
        except Exception as exc:
            log.warning("could not upload %s to MLflow (%s); kept for later upload", path, exc)
            self.spill.artifacts.append((path, artifact_path))

    def log_data(self, data, name: str) -> None:
        """The run's data set as an MLflow run input: name, source, input schema and
        ``data.fingerprint()`` as digest (nothing is read from the data)."""
        import mlflow
        import numpy as np
        from mlflow.data.code_dataset_source import CodeDatasetSource
        from mlflow.data.meta_dataset import MetaDataset
        from mlflow.types.schema import Schema, TensorSpec

        spec = data.spec
        schema = Schema([TensorSpec(np.dtype("float32"), (-1, *spec.input_shape), "inputs")])
        source = CodeDatasetSource({"data": name, "source": data.source, "task": spec.task,
                                    "num_examples": str(dict(spec.num_examples))})
        mlflow.log_input(MetaDataset(source, name=name, digest=data.fingerprint(), schema=schema), context="training")

    def log_keras_model(self, model, data, name: str) -> None:
        """Keras flavor with a signature, linked to the run's final metrics (its page in the
        UI shows them; MLflow's default links step 0, the first epoch's). (mlflow 3.17's keras
        flavor cannot save an ``input_example``: it writes the example before creating the
        model directory.)"""
        import keras
        import mlflow
        import tensorflow as tf
        from mlflow.entities import Metric
        from mlflow.models import infer_signature

        signature = None
        if data is not None:
            example = data.sample("test", 5)
            signature = infer_signature(example, model.predict(example, verbose=0))
        # Explicit requirements: MLflow's inference of them costs ~30 s per model here.
        requirements = [f"keras=={keras.__version__}", f"tensorflow=={tf.version.VERSION}"]
        with self.system_metrics.paused() if self.system_metrics else contextlib.nullcontext():
            self.buffer.flush()
            latest = latest_metrics(self.client, self.run_id)
            # MLflow gives the model every metric logged at its step: past the last one, none
            step = 1 + max((m.step for m in latest), default=-1)
            info = mlflow.keras.log_model(model, name=name, signature=signature, pip_requirements=requirements, step=step)
        # what the trained model scored (test metrics, the last epoch's): the run's own points,
        # now also the model's; system metrics describe the machine, not the model
        final = [Metric(m.key, m.value, m.timestamp, m.step, model_id=info.model_id) for m in latest if not m.key.startswith("system/")]
        self.client.log_batch(self.run_id, metrics=final)

    def finish(self, run, status: str) -> None:
        """Flush (retrying a lost server), upload the log, end the run; what cannot reach
        the server is written to ``unsent_tracking.jsonl`` with the command to send it."""
        import mlflow

        self.spill.metrics = self.buffer.close(mlflow_config(run.cfg).retry_timeout_s)
        if self.system_metrics:
            self.system_metrics.stop()
        try:
            mlflow.end_run(status)
        except Exception as exc:
            log.warning("could not end the MLflow run (%s)", exc)
            self.spill.status = status
        run.summary.append(f"MLflow run {self.run_id} ({status}) in {self.uri}")
        if self.spill.write():
            run.summary.append(f"NOT SENT to MLflow yet: {self.spill.path} -- send it: python -m tfexp_mlflow.spill {self.spill.path}")
        run.summary += open_lines(self.uri, run_link(self.uri, self.experiment_id, self.run_id))
