"""What only MLflow can resolve: the run behind a run id (``resume=<id>``), the model behind
``runs:/`` and ``models:/`` URIs (a distillation teacher). Each reads the run's store
(``tracking.uri``): the process-wide tracking URI is left as it was."""

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
    from mlflow.tracking._tracking_service.utils import _use_tracking_uri

    # MLflow 3 finds a logged model (runs:/<id>/<name>) through the process's tracking URI
    # whatever URI download_artifacts is given: point it at the run's store for the load only.
    with _use_tracking_uri(tracking_uri(cfg)):
        return mlflow.keras.load_model(uri)
