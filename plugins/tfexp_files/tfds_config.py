"""The config keys of ``data=tfds``, checked before TensorFlow starts."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Dict, List, Optional

from omegaconf import DictConfig

from tfexp.config import check_schema
from tfexp.data import SPLITS
from tfexp.errors import ConfigError


@dataclass
class TfdsConfig:
    name: str = "tfds"
    dataset: Optional[str] = None
    """The TFDS name, optionally with config and version: ``mnist``, ``mnist:3.0.1``."""
    data_dir: Optional[str] = None
    """Where the data set is already prepared (``tfds build NAME --data_dir=DIR``); nothing is downloaded."""
    splits: Dict[str, str] = field(default_factory=lambda: {"train": "train[:90%]", "val": "train[90%:]", "test": "test"})
    """tfexp split -> TFDS split string (slices such as ``train[:90%]`` allowed)."""
    input: Optional[str] = None
    """The input feature; null: the data set's supervised keys."""
    label: Optional[str] = None
    """The label feature (a ClassLabel); null: the data set's supervised keys."""
    image_size: Optional[List[int]] = None
    """``[height, width]`` to resize images to (needed when the data set's images vary in size)."""


def check(node: DictConfig) -> TfdsConfig:
    cfg = check_schema(node, TfdsConfig, "data")
    if not cfg.dataset:
        raise ConfigError("data=tfds needs data.dataset=<TFDS name> (e.g. mnist) and data.data_dir=<folder where it is prepared>")
    if not cfg.data_dir:
        raise ConfigError(f"data=tfds needs data.data_dir=<folder>: the folder where {cfg.dataset} is prepared (tfds build {cfg.dataset} --data_dir=<folder>); nothing is downloaded")
    if missing := [split for split in SPLITS if not cfg.splits.get(split)]:
        raise ConfigError(f"data.splits.{missing[0]} is not set: name the TFDS split for it, e.g. data.splits.{missing[0]}='train[90%:]'")
    if cfg.image_size is not None and (len(cfg.image_size) != 2 or min(cfg.image_size) < 1):
        raise ConfigError(f"data.image_size={list(cfg.image_size)} is invalid: expected [height, width] or null")
    return cfg
