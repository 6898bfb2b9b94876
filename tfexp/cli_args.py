"""Command-line arguments Hydra's override grammar would reject, made into what they mean.

``data.features.x=float32[64]`` is two errors for Hydra: ``[`` inside an unquoted value,
and a new key in a config map without ``+``. Feature maps are open by nature (any
feature name), so such an argument becomes ``++data.features.x='float32[64]'``.
``tracking.mlflow.*`` is the MLflow plugin's node, checked by the plugin (which names the
keys it knows), so its keys pass as ``++``. The spellings of tfexp 0.1 (``tracking.mlflow=false``,
``tracking.fallback=local``, ``sweep.register_best=...``) become the new keys, with one
warning line each, for one release. Only arguments that would otherwise fail are changed.
"""

from __future__ import annotations

import logging
import re

log = logging.getLogger("tfexp.config")

_FEATURE = re.compile(r"^(data\.features\.[\w-]+)=(\w+(?:\[[\d, ]*\])?)$")
_MLFLOW_KEY = re.compile(r"^\+{0,2}(tracking\.mlflow\.[\w.]+=)")
MOVED_TO_MLFLOW = {
    **{f"tracking.{key}": f"tracking.mlflow.{key}" for key in (
        "fallback", "retry_timeout_s", "flush_interval_s", "register_model", "register_alias",
        "system_metrics", "system_metrics_interval_s")},
    "sweep.register_best": "tracking.mlflow.register_best",
    "tracking.mlflow": "tracking.mlflow.enabled",
}
"""Keys of tfexp 0.1 and where they are now: MLflow's own keys left the core schema."""


def _renamed(arg: str) -> str:
    old, sep, value = arg.lstrip("+").partition("=")
    if sep and old in MOVED_TO_MLFLOW:
        log.warning("%s is deprecated (removed in the next release): write %s=%s", old, MOVED_TO_MLFLOW[old], value)
        return f"{MOVED_TO_MLFLOW[old]}={value}"
    return arg


def upgraded(config: dict) -> dict:
    """A config saved by tfexp 0.1 (a checkpoint's ``config.yaml``) with its keys where they are now."""
    tracking = config.setdefault("tracking", {})
    if not isinstance(tracking.get("mlflow", {}), dict):
        tracking["mlflow"] = {"enabled": tracking["mlflow"]}
    for old, new in MOVED_TO_MLFLOW.items():
        section, key = old.split(".")
        if new != "tracking.mlflow.enabled" and key in config.get(section, {}):
            tracking.setdefault("mlflow", {})[new.rsplit(".", 1)[1]] = config[section].pop(key)
    return config


def hydra_overrides(args: list[str]) -> list[str]:
    # `experiment: null` is in the defaults list (`experiment=NAME`); the older
    # `+experiment=NAME` would add it twice.
    args = [_renamed(arg.removeprefix("+") if arg.startswith("+experiment=") else arg) for arg in args]
    return [_MLFLOW_KEY.sub(r"++\1", _FEATURE.sub(r"++\1='\2'", arg)) for arg in args]
