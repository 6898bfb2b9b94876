"""What only MLflow can resolve: the run behind a run id (``resume=<id>``), the model behind
``runs:/`` and ``models:/`` URIs (a distillation teacher). Each opens its own client on the
run's store: the process-wide tracking URI is never changed."""

from __future__ import annotations

from pathlib import Path

from tfexp.errors import ConfigError
from tfexp.resume import SWEEP_PARENT
from tfexp_mlflow.session import tracking_uri

SCHEMES = ("runs:/", "models:/")


def locate_run(cfg, ref: str) -> Path | None:
    """The output directory of MLflow run ``ref``; None when the store has no such run."""
    from mlflow import MlflowClient
    from mlflow.exceptions import MlflowException

    try:
        run = MlflowClient(tracking_uri(cfg)).get_run(ref)
    except MlflowException:
        return None
    if run.data.tags.get("tfexp.sweep") == "parent":
        raise ConfigError(f"resume={ref} {SWEEP_PARENT}")
    if "tfexp.output_dir" not in run.data.tags:
        raise ConfigError(f"resume={ref}: MLflow run {ref} was not made by tfexp (no tfexp.output_dir tag). Give a tfexp run's output directory")
    return Path(run.data.tags["tfexp.output_dir"])


def load_model(cfg, uri: str):
    """The Keras model logged at ``uri`` (``runs:/<id>/<name>``, ``models:/<name>@<alias>``), read
    from the run's store; None for other URIs."""
    if not uri.startswith(SCHEMES):
        return None
    import mlflow

    store = tracking_uri(cfg)
    local = mlflow.artifacts.download_artifacts(artifact_uri=uri, tracking_uri=store, registry_uri=store)
    return mlflow.keras.load_model(local)
