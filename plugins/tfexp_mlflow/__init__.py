"""MLflow tracker: one MLflow run per tfexp run, fed by the tracking hooks.

Per-run state lives in ``run.info["mlflow"]`` (a :class:`Session`), so nothing leaks
between the jobs of a multirun and a run without MLflow (``tracking=none``) costs nothing.
"""

from __future__ import annotations

import logging

from tfexp import hookimpl
from tfexp.cluster import is_chief
from tfexp_mlflow.config import check_config, mlflow_config
from tfexp_mlflow.session import Session, configured_uri, parent_of
from tfexp_mlflow.store import check_store
from tfexp_mlflow.registry import MODEL_NAME, attach_file, register_run_model
from tfexp_mlflow.resolve import load_model, locate_run
from tfexp_mlflow.sweep import open_parent, record_summary

log = logging.getLogger("tfexp.mlflow")


def session_of(run) -> Session | None:
    return run.info.get("mlflow")


@hookimpl
def tfexp_configure(cfg):
    cfg.tracking.mlflow = check_config(cfg)
    if mlflow_config(cfg).enabled and is_chief():
        check_store(configured_uri(cfg))


@hookimpl(tryfirst=True)
def tfexp_before_run(run):
    if mlflow_config(run.cfg).enabled and is_chief():  # one MLflow run per cluster: the chief's
        run.info["mlflow"] = session = Session.start(run)
        run.tracker_refs["mlflow"] = session.run_id


@hookimpl
def tfexp_log_params(run, params):
    if session := session_of(run):
        session.tolerant(session.log_params, params)


@hookimpl
def tfexp_log_metrics(run, metrics, step):
    if session := session_of(run):
        session.buffer.add(metrics, step)


@hookimpl
def tfexp_set_tags(run, tags):
    if session := session_of(run):
        session.tolerant(session.set_tags, tags)


@hookimpl
def tfexp_log_artifact(run, path, artifact_path):
    if session := session_of(run):
        session.log_artifact(path, artifact_path)


@hookimpl
def tfexp_flush_tracking(run):
    if session := session_of(run):
        try:
            session.buffer.flush()
        except Exception as exc:  # server lost: keep training, the buffer retries
            log.warning("MLflow unreachable at checkpoint (%s); metrics stay buffered", exc)


@hookimpl
def tfexp_on_checkpoint_restored(run, epoch):
    if session := session_of(run):
        session.buffer.rewind()


@hookimpl
def tfexp_before_fit(run, model):
    if session := session_of(run):
        session.tolerant(session.log_data, run.data, run.cfg.data.name)


@hookimpl
def tfexp_log_model(run, model, name):
    if (session := session_of(run)) and run.cfg.tracking.log_model:
        session.tolerant(session.log_keras_model, model, run.data, name)
        if name == MODEL_NAME and (registered := mlflow_config(run.cfg).register_model):
            register_run_model(run, session, registered)


@hookimpl
def tfexp_log_model_file(run, path, name):
    if (session := session_of(run)) and run.cfg.tracking.log_model:
        attach_file(session.client, session.run_id, path, name)


@hookimpl(trylast=True)
def tfexp_after_run(run, status):
    if session := session_of(run):
        session.finish(run, status)


@hookimpl
def tfexp_sweep_start(sweep):
    if mlflow_config(sweep.cfg).enabled:
        open_parent(sweep)


@hookimpl
def tfexp_sweep_end(sweep, summary):
    if parent_of(sweep):
        record_summary(sweep, summary)


@hookimpl
def tfexp_locate_run(cfg, ref):
    return locate_run(cfg, ref) if mlflow_config(cfg).enabled else None


@hookimpl
def tfexp_load_model(cfg, uri):
    return load_model(cfg, uri)
