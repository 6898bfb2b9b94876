"""The config keys of ``data=csv`` and ``data=parquet``: types and values, checked before
TensorFlow starts. Targets are declared here (task, classes), never inferred from the rows."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, List, Optional

from omegaconf import DictConfig, ListConfig

from tfexp.config import check_schema
from tfexp.data import SPLITS, TASKS
from tfexp.errors import ConfigError

NORMALIZE = ("none", "standardize")


@dataclass
class TabularConfig:
    train: Any = None
    """A glob or a list of globs, relative to the working directory."""
    val: Any = None
    test: Any = None
    label: Any = None
    """The target column; for multilabel (or several regression targets) a list of columns."""
    features: List[str] = field(default_factory=list)
    """Input columns, in this order; empty: every column but the label columns."""
    task: str = "multiclass"
    num_classes: Optional[int] = None
    class_names: List[str] = field(default_factory=list)
    normalize: str = "none"
    """``standardize``: a per-feature mean and std fitted on ``normalize_sample`` train rows."""
    normalize_sample: int = 10000


@dataclass
class CsvConfig(TabularConfig):
    name: str = "csv"
    delimiter: str = ","


@dataclass
class ParquetConfig(TabularConfig):
    name: str = "parquet"
    batch_rows: int = 1024
    """Rows per batch read from a file (``ParquetFile.iter_batches``): bounds the memory."""


def check_csv(node: DictConfig) -> CsvConfig:
    cfg = _check(node, CsvConfig, "csv")
    if len(cfg.delimiter) != 1:
        raise ConfigError(f"data.delimiter={cfg.delimiter!r} is invalid: expected one character, e.g. data.delimiter=';'")
    return cfg


def check_parquet(node: DictConfig) -> ParquetConfig:
    cfg = _check(node, ParquetConfig, "parquet")
    if cfg.batch_rows < 1:
        raise ConfigError(f"data.batch_rows={cfg.batch_rows} is invalid: expected an integer >= 1")
    return cfg


def label_columns(cfg) -> list[str]:
    return [cfg.label] if isinstance(cfg.label, str) else list(cfg.label)


def outputs(cfg) -> tuple[int, tuple[str, ...]]:
    """``(num_outputs, class_names)`` as the config declares them."""
    if cfg.task == "multiclass":
        names = tuple(cfg.class_names) or tuple(str(c) for c in range(cfg.num_classes))
        return len(names), names
    labels = label_columns(cfg)
    return len(labels), tuple(labels) if cfg.task == "multilabel" else ()


def _check(node: DictConfig, schema: type, ext: str):
    cfg = check_schema(node, schema, "data")
    for split in SPLITS:
        if not cfg[split]:
            raise ConfigError(f"data={ext} needs data.{split}: a glob of files, e.g. data.{split}='data/{split}-*.{ext}'")
    if not cfg.label or not isinstance(cfg.label, (str, list, ListConfig)):
        raise ConfigError(f"data={ext} needs data.label=<column> (the target), or a list of columns for multilabel: data.label=[a,b]")
    if cfg.task not in TASKS:
        raise ConfigError(f"data.task={cfg.task!r} is invalid: expected {', '.join(TASKS)}")
    if cfg.task == "multiclass":
        _check_classes(cfg)
    if cfg.normalize not in NORMALIZE:
        raise ConfigError(f"data.normalize={cfg.normalize!r} is invalid: expected none or standardize")
    if cfg.normalize_sample < 1:
        raise ConfigError(f"data.normalize_sample={cfg.normalize_sample} is invalid: expected an integer >= 1")
    return cfg


def _check_classes(cfg) -> None:
    if len(label_columns(cfg)) != 1:
        raise ConfigError(f"data.label={list(label_columns(cfg))} is invalid for data.task=multiclass: expected one column of class indices")
    if cfg.num_classes is None and not cfg.class_names:
        raise ConfigError("data.task=multiclass needs data.num_classes=<K> (labels 0..K-1) or data.class_names=[a,b,...]: classes are declared, never counted from the files")
    if cfg.num_classes is not None and cfg.num_classes < 2:
        raise ConfigError(f"data.num_classes={cfg.num_classes} is invalid: expected an integer >= 2")
    if cfg.num_classes is not None and cfg.class_names and len(cfg.class_names) != cfg.num_classes:
        raise ConfigError(f"data.class_names has {len(cfg.class_names)} names but data.num_classes={cfg.num_classes}: make them agree (or drop one)")
