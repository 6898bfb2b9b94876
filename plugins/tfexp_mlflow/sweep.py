"""A sweep in MLflow: one parent run, every job's run its child, the summary on the parent.

The parent is tagged ``tfexp.sweep_key``; a resumed sweep (``sweep.resume``) reopens the last
parent with its key, marks children a killed sweep left RUNNING as KILLED and hands the FINISHED
ones back to the core (``sweep.finished``), which does not train those jobs again. A job's run
joins the parent through ``sweep.refs`` (:func:`tfexp_mlflow.session.parent_of`).
"""

from __future__ import annotations

import logging
import math
import time
from pathlib import Path

from tfexp.sweep import override_pairs
from tfexp.sweep_records import FINISHED, Sweep, SweepJob, SweepSummary
from tfexp_mlflow.config import mlflow_config
from tfexp_mlflow.links import open_lines, run_link
from tfexp_mlflow.registry import register_best
from tfexp_mlflow.session import PARENT_REF, URI_REF, ensure_experiment, parent_of, tracking_uri

log = logging.getLogger("tfexp.mlflow")


def open_parent(sweep: Sweep) -> None:
    """Create the parent run (or reopen the sweep's last one) and put it in ``sweep.refs``."""
    from mlflow import MlflowClient

    cfg = sweep.cfg
    uri = tracking_uri(cfg)
    client = MlflowClient(uri)
    experiment_id = ensure_experiment(client, cfg.tracking.experiment_name, uri)
    previous = client.search_runs(
        [experiment_id], f"tags.`tfexp.sweep_key` = '{sweep.key}'", order_by=["attributes.start_time DESC"], max_results=1
    ) if sweep.resume else []
    if previous:
        parent_id = previous[0].info.run_id
        sweep.finished.update(reopen(client, parent_id, sweep))
        log.info("Sweep resumes its parent MLflow run %s in %s (%d jobs FINISHED)", parent_id, uri, len(sweep.finished))
    else:
        tags = {
            "tfexp.sweep": "parent",
            "tfexp.sweep_key": sweep.key,
            "tfexp.sweep_dir": str(sweep.directory),
            "tfexp.overrides": " ".join(sweep.overrides),
            "tfexp.objective": f"{sweep.objective} ({sweep.direction})",
        }
        parent_id = client.create_run(experiment_id, run_name=sweep.name, tags=tags).info.run_id
        client.log_batch(parent_id, params=_params(sweep.space))
        log.info("Sweep parent MLflow run %s in %s", parent_id, uri)
    sweep.refs.update({PARENT_REF: parent_id, URI_REF: uri})


def _params(space: dict[str, str]):
    """The swept space as the parent's params (``model`` = ``mlp,cnn``)."""
    from mlflow.entities import Param

    return [Param(key.lstrip("+~"), values[:6000]) for key, values in space.items()]


def reopen(client, parent_id: str, sweep: Sweep) -> dict[str, SweepJob]:
    """Reopen the parent; children left RUNNING become KILLED; FINISHED ones, by job key."""
    client.update_run(parent_id, status="RUNNING")
    parent = client.get_run(parent_id)
    finished = {}
    for child in client.search_runs([parent.info.experiment_id], f"tags.mlflow.parentRunId = '{parent_id}'"):
        if child.info.status == "RUNNING":
            client.set_terminated(child.info.run_id, "KILLED")
        elif child.info.status == FINISHED and "objective" in child.data.metrics:
            overrides = override_pairs(child.data.tags.get("tfexp.overrides", "").split())
            finished[sweep.job_key(overrides)] = SweepJob(
                index=int(child.data.tags.get("tfexp.job", -1)), overrides=overrides, status=FINISHED, objective=sweep.objective,
                value=child.data.metrics["objective"], metrics=dict(child.data.metrics), output_dir=None,
                duration_s=math.nan, run_refs={PARENT_REF: child.info.run_id},
            )
    return finished


def record_summary(sweep: Sweep, summary: SweepSummary) -> None:
    """Files, metrics, tags and the description on the parent; then close it (FAILED when a
    job failed) and tell the user where it is."""
    from mlflow import MlflowClient
    from mlflow.entities import Metric, RunTag

    parent_id, uri = parent_of(sweep)
    client = MlflowClient(uri)
    for path in summary.files:
        client.log_artifact(parent_id, str(path), str(Path(path).parent.relative_to(sweep.directory)))
    best_run = summary.best.run_refs.get(PARENT_REF) if summary.best else None
    if best_run and mlflow_config(sweep.cfg).register_best:
        register_best(sweep, summary, client, best_run)
    now = int(time.time() * 1000)
    tags = {**summary.tags, "mlflow.note.content": summary.description}
    if best_run:
        tags["tfexp.best_run_id"] = best_run
    client.log_batch(
        parent_id, metrics=[Metric(k, v, now, 0) for k, v in summary.metrics.items()], tags=[RunTag(k, v) for k, v in tags.items()]
    )
    client.set_terminated(parent_id, "FAILED" if summary.failed else "FINISHED")
    experiment_id = client.get_run(parent_id).info.experiment_id
    summary.lines.append(f"MLflow parent run {parent_id} in {uri}")
    summary.lines += open_lines(uri, run_link(uri, experiment_id, parent_id))
