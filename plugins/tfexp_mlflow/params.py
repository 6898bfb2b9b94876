"""The resolved config as MLflow params: flat dotted keys within MLflow's limits."""

from __future__ import annotations

from typing import Any

MAX_KEY = 250
MAX_VALUE = 6000


def flatten_config(node: Any, prefix: str = "") -> dict[str, str]:
    """``{"model": {"units": [8]}}`` -> ``{"model.units": "[8]"}``; lists stay whole."""
    if isinstance(node, dict):
        out: dict[str, str] = {}
        for key, value in node.items():
            out.update(flatten_config(value, f"{prefix}{key}."))
        return out
    key = prefix[:-1][:MAX_KEY]
    return {key: str(node)[:MAX_VALUE]}
