"""The config keys of ``data=image_folder``, checked before TensorFlow starts."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Dict, List, Optional

from omegaconf import DictConfig

from tfexp.config import check_schema
from tfexp.data import SPLITS
from tfexp.errors import ConfigError

CHANNELS = (1, 3, 4)


@dataclass
class ImageFolderConfig:
    name: str = "image_folder"
    root: Optional[str] = None
    """``<root>/<split folder>/<class>/*.png|jpg|jpeg|bmp|gif``."""
    splits: Dict[str, str] = field(default_factory=lambda: {split: split for split in SPLITS})
    """Split -> its folder under ``root`` (e.g. ``data.splits.val=validation``)."""
    image_size: List[int] = field(default_factory=lambda: [64, 64])
    """``[height, width]`` every image is resized to."""
    channels: int = 3


def check(node: DictConfig) -> ImageFolderConfig:
    cfg = check_schema(node, ImageFolderConfig, "data")
    if not cfg.root:
        raise ConfigError("data=image_folder needs data.root=<folder> holding train/, val/ and test/, each with one subfolder per class")
    if missing := [split for split in SPLITS if not cfg.splits.get(split)]:
        raise ConfigError(f"data.splits.{missing[0]} is not set: name the folder under data.root that holds the {missing[0]} images")
    if len(cfg.image_size) != 2 or min(cfg.image_size) < 1:
        raise ConfigError(f"data.image_size={list(cfg.image_size)} is invalid: expected [height, width], e.g. data.image_size=[64,64]")
    if cfg.channels not in CHANNELS:
        raise ConfigError(f"data.channels={cfg.channels} is invalid: expected 1 (grayscale), 3 (RGB) or 4 (RGBA)")
    return cfg
