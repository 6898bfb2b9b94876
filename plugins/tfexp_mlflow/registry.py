"""The MLflow Model Registry: register a run's logged ``model`` under a name, with an alias.

MLflow 3 logs models as LoggedModels, found through their source run (not as run
artifacts), so versions are registered from ``models:/<model_id>``. Used for one run
(``tracking.mlflow.register_model``) and for a sweep's best job (``tracking.mlflow.register_best``).
"""

from __future__ import annotations

from tfexp.errors import TfexpError
from tfexp_mlflow.config import mlflow_config

MODEL_NAME = "model"
"""The name the core logs the run's own model under (``run.log_model(model, "model")``)."""


def logged_model_id(client, run_id: str, name: str = MODEL_NAME) -> str:
    experiment_id = client.get_run(run_id).info.experiment_id
    found = client.search_logged_models([experiment_id], filter_string=f"source_run_id = '{run_id}' AND name = '{name}'")
    if not found:
        raise TfexpError(
            f"MLflow run {run_id} has no logged model '{name}'. "
            f"It is logged at export when tracking.log_model=true; check the run finished."
        )
    return found[0].model_id


def attach_file(client, run_id: str, path: str, name: str = MODEL_NAME) -> None:
    """Put ``path`` into the run's logged model ``name``, so it downloads and serves with it."""
    client.log_model_artifact(logged_model_id(client, run_id, name), path)


def register_run_model(run, session, name: str) -> None:
    """``tracking.mlflow.register_model``: the run's model becomes a new version of ``name``."""
    alias = mlflow_config(run.cfg).register_alias
    version = register(session.client, session.run_id, name, alias)
    session.set_tags({"tfexp.registered_model": f"{name}/{version.version}"})
    run.summary.append(describe(name, alias, version))


def register_best(sweep, summary, client, best_run_id: str) -> None:
    """``tracking.mlflow.register_best``: the best job's model becomes a new version; the
    summary (recorded on the parent run next) names it."""
    mc = mlflow_config(sweep.cfg)
    version = register(client, best_run_id, mc.register_best, mc.register_alias)
    summary.tags["tfexp.registered_model"] = f"{mc.register_best}/{version.version}"
    summary.lines.append(describe(mc.register_best, mc.register_alias, version))


def register(client, run_id: str, name: str, alias: str):
    """Register ``run_id``'s model as a new version of ``name`` and point ``alias`` at it."""
    from mlflow.exceptions import MlflowException

    model_id = logged_model_id(client, run_id)
    try:
        client.create_registered_model(name)
    except MlflowException as exc:
        if exc.error_code != "RESOURCE_ALREADY_EXISTS":
            raise
    version = client.create_model_version(name, source=f"models:/{model_id}", run_id=run_id, model_id=model_id)
    client.set_registered_model_alias(name, alias, version.version)
    return version


def describe(name: str, alias: str, version) -> str:
    return f"registered model {name} version {version.version} (alias {alias}): load it with models:/{name}@{alias}"
