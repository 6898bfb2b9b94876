"""Params as MLflow takes them: strings within its key and value limits."""

from __future__ import annotations

from typing import Any

MAX_KEY = 250
MAX_VALUE = 6000


def mlflow_params(params: dict[str, Any]) -> dict[str, str]:
    """``{"model.units": [8]}`` -> ``{"model.units": "[8]"}``, keys and values cut to MLflow's limits."""
    return {str(key)[:MAX_KEY]: str(value)[:MAX_VALUE] for key, value in params.items()}
