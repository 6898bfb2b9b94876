"""The config keys of ``data=tfrecord``: types and values, checked before TensorFlow starts."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional

from omegaconf import DictConfig

from tfexp.config import check_schema
from tfexp.errors import ConfigError

COMPRESSIONS = (None, "GZIP", "ZLIB", "NONE")
NORMALIZE = ("none", "standardize")


@dataclass
class TFRecordConfig:
    name: str = "tfrecord"
    train: Any = None
    """A glob or a list of globs; relative to the working directory (or to the schema file
    when it comes from ``schema``)."""
    val: Any = None
    test: Any = None
    schema: Optional[str] = None
    """A ``schema.json`` written by ``python -m tfexp.data convert``: features, label, task,
    classes, preprocessing, split sizes and files. Keys set here override it."""
    features: Dict[str, str] = field(default_factory=dict)
    """Feature name -> type, e.g. ``x: float32[64]``, ``y: int64[]`` (docs/data.md)."""
    label: Optional[str] = None
    """The feature that holds the target."""
    task: Optional[str] = None
    """multiclass (default), multilabel or regression."""
    num_classes: Optional[int] = None
    class_names: List[str] = field(default_factory=list)
    compression: Optional[str] = None
    """GZIP, ZLIB or NONE; null: GZIP for files ending in ``.gz``, none otherwise."""
    normalize: str = "none"
    """``standardize``: fit a per-input mean and std on ``normalize_sample`` train records."""
    normalize_sample: int = 10000


def check(node: DictConfig) -> TFRecordConfig:
    cfg = check_schema(node, TFRecordConfig, "data")
    if cfg.compression not in COMPRESSIONS:
        raise ConfigError(f"data.compression={cfg.compression!r} is invalid: expected null (from the .gz suffix), GZIP, ZLIB or NONE.")
    if cfg.normalize not in NORMALIZE:
        raise ConfigError(f"data.normalize={cfg.normalize!r} is invalid: expected none or standardize.")
    if cfg.normalize_sample < 1:
        raise ConfigError(f"data.normalize_sample={cfg.normalize_sample} is invalid: expected an integer >= 1.")
    if cfg.num_classes is not None and cfg.num_classes < 2:
        raise ConfigError(f"data.num_classes={cfg.num_classes} is invalid: expected an integer >= 2 (or null with data.class_names).")
    if cfg.schema is None and not cfg.features:
        raise ConfigError("data=tfrecord needs data.schema=path/to/schema.json or the features, e.g. data.features.x='float32[64]' data.label=y")
    return cfg
