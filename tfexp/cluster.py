"""Which process of a multi-worker cluster this is, read from ``TF_CONFIG``.

Trackers ask :func:`is_chief` in ``tfexp_before_run`` (before TensorFlow is imported), so
only one process of a cluster opens an MLflow run and writes TensorBoard events.
"""

from __future__ import annotations

import json
import os

from tfexp.errors import ConfigError


def tf_config() -> dict:
    """``$TF_CONFIG`` parsed (``{}`` when unset); malformed JSON is a clear error."""
    text = os.environ.get("TF_CONFIG", "").strip()
    if not text:
        return {}
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ConfigError(f"TF_CONFIG is not valid JSON ({exc}). Fix or unset the TF_CONFIG environment variable.") from None
    if not isinstance(value, dict):
        raise ConfigError('TF_CONFIG must be a JSON object like {"cluster": {...}, "task": {"type": "worker", "index": 0}}.')
    return value


def is_chief() -> bool:
    """True unless ``TF_CONFIG`` names another process as the chief.

    The chief is the ``chief`` task, or worker 0 when the cluster has no ``chief`` job
    (TensorFlow's convention); a process without ``TF_CONFIG`` is its own chief.
    """
    config = tf_config()
    cluster, task = config.get("cluster") or {}, config.get("task") or {}
    if not cluster or not task:
        return True
    task_type, index = task.get("type"), int(task.get("index", 0))
    return task_type == "chief" or (task_type == "worker" and index == 0 and "chief" not in cluster)
