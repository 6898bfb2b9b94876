"""Links into the MLflow UI that open its model-training view.

MLflow 3.17 opens every experiment in its GenAI view (traces), whatever the experiment's
``mlflow.experimentKind`` tag says; ``?workflowType=machine_learning`` in the hash URL opens
the runs, charts and metrics instead.
"""

from __future__ import annotations

TRAINING_VIEW = "?workflowType=machine_learning"
LOCAL_UI = "http://127.0.0.1:5000"
"""Where ``mlflow ui --backend-store-uri <sqlite store>`` serves by default."""


def ui_base(uri: str) -> str:
    """The UI's address: the server itself, or a local ``mlflow ui`` for a sqlite store."""
    return uri.rstrip("/") if uri.startswith(("http://", "https://")) else LOCAL_UI


def run_link(uri: str, experiment_id: str, run_id: str) -> str:
    return f"{ui_base(uri)}/#/experiments/{experiment_id}/runs/{run_id}{TRAINING_VIEW}"


def experiment_link(uri: str, experiment_id: str) -> str:
    return f"{ui_base(uri)}/#/experiments/{experiment_id}/runs{TRAINING_VIEW}"


def open_lines(uri: str, link: str) -> list[str]:
    """How to open ``link``: start ``mlflow ui`` first when the store is a local file."""
    start = [f"open it: mlflow ui --backend-store-uri {uri} --host 127.0.0.1 --port 5000"] if uri.startswith("sqlite:") else []
    return [*start, f"  then {link}" if start else f"open it: {link}"]
