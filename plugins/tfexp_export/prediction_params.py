"""Prediction-time parameters that travel with the exported model.

Convention: a plugin puts what a server needs besides the weights into
``run.info["prediction_params"]`` (a JSON-serializable dict), e.g. ``{"thresholds": [...]}``
for multi-label decisions. The exporter adds what it knows about the data (task, class
names, input preprocessing), writes ``prediction_params.json`` next to every format, puts
the same file into the MLflow model, and applies ``thresholds`` in the serving signature.
"""

from __future__ import annotations

from typing import Any

import numpy as np

FILENAME = "prediction_params.json"
LEGACY_KEYS = {"multilabel_thresholds": "thresholds"}
"""Older ``run.info`` keys read as prediction parameters (the multilabel technique's)."""


def prediction_params(run) -> dict[str, Any]:
    params = {new: run.info[old] for old, new in LEGACY_KEYS.items() if old in run.info}
    params.update(run.info.get("prediction_params") or {})
    spec = run.data.spec
    params["task"] = spec.task
    if spec.class_names:
        params["class_names"] = list(spec.class_names)
    if spec.preprocessing is not None:
        p = spec.preprocessing
        params["input_preprocessing"] = {"rule": "x = raw * scale + offset", "scale": _plain(p.scale), "offset": _plain(p.offset)}
    return params


def thresholds(params: dict[str, Any], num_outputs: int) -> np.ndarray:
    """Per-label decision thresholds for multi-label outputs: ``thresholds`` as one number,
    a list in label order or ``{label name: threshold}``; 0.5 when none were chosen."""
    values = params.get("thresholds", 0.5)
    if isinstance(values, dict):
        values = [values[name] for name in params.get("class_names") or values]
    return np.broadcast_to(np.asarray(values, dtype="float32"), (num_outputs,)).copy()


def _plain(value) -> float | list:
    return np.asarray(value, dtype="float64").tolist()
