"""The ``export`` node's schema and the checks on every key this plugin reads.

Runs in ``tfexp_configure``: a wrong value fails before TensorFlow or MLflow is imported.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Optional

from omegaconf import DictConfig

from tfexp.config import check_schema
from tfexp.errors import ConfigError
from tfexp.output_dir import write_problem

FORMATS = ("keras", "saved_model", "tflite")
QUANTIZATIONS = ("none", "dynamic", "float16", "int8")
MODES = ("max", "min")


@dataclass
class TFLiteConfig:
    quantization: str = "none"
    """``none`` (float32), ``dynamic`` (int8 weights), ``float16`` (float16 weights) or
    ``int8`` (int8 weights and activations, calibrated on training inputs)."""
    representative_samples: int = 200
    """How many training examples calibrate ``int8``."""


@dataclass
class ExportConfig:
    formats: list[str] = field(default_factory=lambda: ["keras", "saved_model"])
    dir: Optional[str] = None
    """Base directory of ``<model_name>/<version>/``; null: ``<output_dir>/export``.
    Share one between runs and each run adds the next version."""
    model_name: Optional[str] = None
    """The ``<model_name>`` directory (TensorFlow Serving's model name); null: ``model.name``
    (RL: ``<agent>-<env>``, e.g. ``ppo-CartPole-v1``)."""
    signature_name: str = "serving_default"
    tflite: TFLiteConfig = field(default_factory=TFLiteConfig)


def _require(ok: bool, key: str, expected: str, value) -> None:
    if not ok:
        raise ConfigError(f"{key}={value!r} is invalid: expected {expected}. Fix it on the command line ({key}=...) or in your config.")


def export_config(cfg: DictConfig) -> ExportConfig:
    """The run's ``export`` node, typed and with defaults (raises :class:`ConfigError`)."""
    return check_schema(cfg.get("export") or {}, ExportConfig, "export")


def check_config(cfg: DictConfig) -> None:
    """Check ``export.*`` and ``trainer.best_checkpoint.*`` together."""
    export = export_config(cfg)
    unknown = [f for f in export.formats if f not in FORMATS]
    _require(not unknown and len(set(export.formats)) == len(export.formats), "export.formats", f"distinct names from {list(FORMATS)}", list(export.formats))
    _require(export.tflite.quantization in QUANTIZATIONS, "export.tflite.quantization", " | ".join(QUANTIZATIONS), export.tflite.quantization)
    _require(export.tflite.representative_samples >= 1, "export.tflite.representative_samples", "an integer >= 1", export.tflite.representative_samples)
    _require(bool(export.signature_name), "export.signature_name", "a non-empty name", export.signature_name)
    _require(export.model_name is None or _plain_name(export.model_name), "export.model_name", "a directory name (letters, digits, - _ .)", export.model_name)
    if export.dir and export.formats and (problem := write_problem(export.dir)):  # found now, not after training
        _require(False, "export.dir", f"a directory tfexp can create and write ({problem})", export.dir)
    best = cfg.trainer.best_checkpoint
    _require(best.mode in MODES, "trainer.best_checkpoint.mode", "max or min", best.mode)
    _require(best.metric is None or bool(best.metric), "trainer.best_checkpoint.metric", "null or an epoch metric name such as val_accuracy", best.metric)


def _plain_name(name: str) -> bool:
    return name not in (".", "..") and all(c.isalnum() or c in "-_." for c in name)
