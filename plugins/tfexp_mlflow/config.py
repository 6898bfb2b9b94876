"""``tracking.mlflow.*``: the MLflow tracker's own keys, declared and checked here, not in
the core schema (which keeps only what means the same for any tracker)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

from omegaconf import DictConfig

from tfexp.config import _check, check_schema
from tfexp.errors import ConfigError


@dataclass
class MlflowConfig:
    enabled: bool = True
    """One MLflow run per tfexp run (``tracking.mlflow.enabled=false``: none)."""
    system_metrics: bool = True
    """Sample CPU, memory, disk and network use (GPU with ``pip install tfexp[gpu]``) while the
    run trains: MLflow's system metrics, ``system/*`` in the run's System metrics tab."""
    system_metrics_interval_s: float = 10.0
    """Seconds between two system-metric samples (each is one ``system/*`` point)."""
    flush_interval_s: float = 2.0
    """How often buffered metrics are written to MLflow from the background thread."""
    fallback: Optional[str] = None
    """``local``: when the MLflow server is unreachable at start, log to the local store."""
    retry_timeout_s: float = 60.0
    """How long to keep retrying buffered metrics when the server is lost before writing
    them to ``<output_dir>/unsent_tracking.jsonl``."""
    register_model: Optional[str] = None
    """Register the run's model in the MLflow Model Registry under this name."""
    register_alias: str = "candidate"
    """The alias set on each version registered (``register_model``, ``register_best``)."""
    register_best: Optional[str] = None
    """Register the best job's model of a multirun under this name."""


def mlflow_config(cfg: DictConfig) -> MlflowConfig:
    """``tracking.mlflow`` typed, defaults filled in; an unknown or mistyped key raises
    :class:`ConfigError` naming it and the known keys. The on/off boolean of tfexp 0.1
    (``mlflow: false`` in a user's config file) still means ``enabled``."""
    node = cfg.tracking.get("mlflow")
    return check_schema({"enabled": node} if isinstance(node, bool) else node or {}, MlflowConfig, "tracking.mlflow")


def check_config(cfg: DictConfig) -> DictConfig:
    """The checked node, for ``tfexp_configure`` to put back into the run's config."""
    mc = mlflow_config(cfg)
    _check(mc.fallback in (None, "local"), "tracking.mlflow.fallback", "null or local", mc.fallback)
    _check(mc.system_metrics_interval_s > 0, "tracking.mlflow.system_metrics_interval_s", "a number of seconds > 0", mc.system_metrics_interval_s)
    _check(mc.flush_interval_s > 0, "tracking.mlflow.flush_interval_s", "a number of seconds > 0", mc.flush_interval_s)
    _check(mc.retry_timeout_s >= 0, "tracking.mlflow.retry_timeout_s", "a number of seconds >= 0", mc.retry_timeout_s)
    _check(bool(mc.register_alias), "tracking.mlflow.register_alias", "an alias name such as candidate", mc.register_alias)
    for key in ("register_model", "register_best"):
        if (name := mc[key]) is not None:
            _check(bool(name), f"tracking.mlflow.{key}", "null or a registered model name", name)
            if not (mc.enabled and cfg.tracking.log_model):
                raise ConfigError(
                    f"tracking.mlflow.{key}={name} needs the run's model in MLflow, but tracking.mlflow.enabled={mc.enabled} "
                    f"tracking.log_model={cfg.tracking.log_model}. Set both to true, or drop tracking.mlflow.{key}."
                )
    return mc
