"""The config keys of the ``multilabel`` technique and of its two datasets: types and ranges.

No TensorFlow here: a wrong key must fail before anything heavy is imported.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Optional

from omegaconf import MISSING, DictConfig, OmegaConf

from tfexp.config import check_schema
from tfexp.errors import ConfigError

THRESHOLD_MODES = ("none", "global", "per_label")
POS_WEIGHTS = ("none", "auto")
FILE_SUFFIXES = (".csv", ".parquet", ".pq")


@dataclass
class MultilabelConfig:
    name: str = "multilabel"
    threshold: float = 0.5
    """Fixed probability threshold (and the fallback for labels tuning cannot see)."""
    tune_thresholds: str = "none"
    """``none``: use ``threshold``; ``global``: one threshold maximizing micro-F1 on val;
    ``per_label``: one threshold per label maximizing that label's F1 on val."""
    pos_weight: str = "none"
    """``auto``: weight each label's positives by negatives/positives in the train split."""
    baseline: bool = False
    """Also fit scikit-learn's one-vs-rest logistic regression and log its metrics."""
    baseline_max_examples: int = 100_000
    """The baseline reads each split into memory: a split larger than this is an error."""


@dataclass
class SplitFractions:
    val_fraction: float = 0.15
    test_fraction: float = 0.2


@dataclass
class SyntheticMultilabelConfig(SplitFractions):
    name: str = "synthetic_multilabel"
    n_samples: int = 2000
    n_features: int = 20
    n_labels: int = 5
    """How many labels (outputs) there are."""
    cardinality: int = 2
    """Average number of labels per sample (sklearn's ``n_labels``: the mean of a Poisson draw
    that is redrawn when it exceeds ``n_labels`` (or is 0 without ``allow_unlabeled``))."""
    allow_unlabeled: bool = True


@dataclass
class MultilabelFileConfig(SplitFractions):
    name: str = "multilabel_file"
    path: str = MISSING
    """A ``.csv`` or ``.parquet`` file, one row per sample."""
    label_columns: list[str] = field(default_factory=list)
    """Multi-hot label columns (0/1), one per label."""
    label_prefix: Optional[str] = None
    """Or: every column whose name starts with this is a multi-hot label column."""
    labels_column: Optional[str] = None
    """Or: one column holding each row's label names (``a|b`` in CSV, a list in Parquet)."""
    label_separator: str = "|"
    text_column: Optional[str] = None
    """Features from this text column (TF-IDF); otherwise from numeric feature columns."""
    feature_columns: list[str] = field(default_factory=list)
    """Numeric feature columns; empty: every column that is not a label column."""
    max_features: int = 5000
    """TF-IDF vocabulary size for ``text_column``."""


def _require(ok: bool, key: str, expected: str, value: Any) -> None:
    if not ok:
        raise ConfigError(f"{key}={value!r} is invalid: expected {expected}. Set it on the command line ({key}=...).")


def _check_fractions(cfg, group: str) -> None:
    for key in ("val_fraction", "test_fraction"):
        _require(0 < cfg[key] < 1, f"{group}.{key}", "a fraction between 0 and 1", cfg[key])
    total = cfg.val_fraction + cfg.test_fraction
    _require(total < 1, f"{group}.val_fraction", "val_fraction + test_fraction < 1 (something must be left to train on)", total)


def check_technique(node: DictConfig) -> MultilabelConfig:
    cfg = check_schema(node, MultilabelConfig, "technique")
    _require(0 < cfg.threshold < 1, "technique.threshold", "a probability strictly between 0 and 1", cfg.threshold)
    _require(cfg.tune_thresholds in THRESHOLD_MODES, "technique.tune_thresholds", " or ".join(THRESHOLD_MODES), cfg.tune_thresholds)
    _require(cfg.pos_weight in POS_WEIGHTS, "technique.pos_weight", " or ".join(POS_WEIGHTS), cfg.pos_weight)
    _require(cfg.baseline_max_examples >= 1, "technique.baseline_max_examples", "an integer >= 1", cfg.baseline_max_examples)
    return cfg


def check_synthetic(node: DictConfig) -> SyntheticMultilabelConfig:
    cfg = check_schema(node, SyntheticMultilabelConfig, "data")
    _check_fractions(cfg, "data")
    _require(cfg.n_samples >= 20, "data.n_samples", "an integer >= 20", cfg.n_samples)
    _require(cfg.n_features >= 1, "data.n_features", "an integer >= 1", cfg.n_features)
    _require(cfg.n_labels >= 2, "data.n_labels", "an integer >= 2 (one sigmoid output per label)", cfg.n_labels)
    _require(1 <= cfg.cardinality <= cfg.n_labels, "data.cardinality", f"an integer from 1 to data.n_labels={cfg.n_labels}", cfg.cardinality)
    return cfg


def check_file(node: DictConfig) -> MultilabelFileConfig:
    if OmegaConf.is_missing(node, "path"):
        raise ConfigError("data.path is required for data=multilabel_file: add data.path=/path/to/data.csv (or .parquet).")
    cfg = check_schema(node, MultilabelFileConfig, "data")
    _check_fractions(cfg, "data")
    path = Path(cfg.path).expanduser()
    _require(path.suffix.lower() in FILE_SUFFIXES, "data.path", "a .csv or .parquet file", cfg.path)
    _require(path.is_file(), "data.path", "an existing file (relative paths start in the directory you run from)", cfg.path)
    label_sources = [bool(cfg.label_columns), cfg.label_prefix is not None, cfg.labels_column is not None]
    _require(
        sum(label_sources) == 1, "data.label_columns",
        "exactly one of data.label_columns=[a,b] (multi-hot columns), data.label_prefix=label_ or data.labels_column=tags (label lists)",
        list(cfg.label_columns),
    )
    _require(not (cfg.text_column and cfg.feature_columns), "data.feature_columns", "empty when data.text_column is set (features come from the text)", list(cfg.feature_columns))
    _require(cfg.max_features >= 1, "data.max_features", "an integer >= 1", cfg.max_features)
    return cfg
