"""References only a tracker can resolve, asked through the firstresult resolver hooks
(``tfexp_locate_run``, ``tfexp_load_model``): the core knows no tracker's ids or URIs."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tfexp.always_hooks import first_result
from tfexp.errors import ConfigError


def trackers(pm, hook: str) -> str:
    """The plugins that implement ``hook``, for an error line."""
    names = sorted({impl.plugin_name for impl in getattr(pm.hook, hook).get_hookimpls()})
    return ", ".join(names) or "none installed"


def locate_run(pm, cfg, ref: str) -> Path:
    """The output directory of the run a tracker knows as ``ref``; one line when none does."""
    found = first_result(pm, "tfexp_locate_run", (str, Path), cfg=cfg, ref=ref)
    if found is None:
        raise ConfigError(
            f"resume={ref}: neither a directory nor a run id a tracker knows (asked: {trackers(pm, 'tfexp_locate_run')}). "
            f"Give the run's output directory (outputs/<date>/<time>-<id>), or its MLflow run id with the tracking.uri it was logged to"
        )
    return Path(found)


def load_model(pm, cfg, uri: str, key: str) -> Any:
    """The Keras model at a tracker's ``uri`` (``runs:/...``, ``models:/...``), for config ``key``;
    one line when no tracker loads it."""
    import keras

    model = first_result(pm, "tfexp_load_model", keras.Model, cfg=cfg, uri=uri)
    if model is None:
        raise ConfigError(
            f"{key}={uri!r}: no installed tracker loads this URI (asked: {trackers(pm, 'tfexp_load_model')}). "
            f"Give a .keras file or a SavedModel directory, or install the tracker that logged it (MLflow: runs:/, models:/)"
        )
    return model
