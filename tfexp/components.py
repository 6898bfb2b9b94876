"""The named parts a plugin contributes, one small frozen dataclass per kind.

A plugin returns an iterable of these from a ``tfexp_register_*`` hook; the registry
records which plugin provided each name. Callables are called lazily, so importing a
plugin module stays cheap (no TensorFlow at import time).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Callable

if TYPE_CHECKING:
    import keras
    import tensorflow as tf
    from omegaconf import DictConfig

    from tfexp.data import Data


@dataclass(frozen=True)
class ModelSpec:
    """``build(model_cfg, input_shape, num_outputs)`` returns an uncompiled Keras model
    whose last layer outputs logits (``num_outputs`` units, no activation)."""

    name: str
    build: Callable[[DictConfig, tuple[int, ...], int], keras.Model]
    description: str = ""


@dataclass(frozen=True)
class DatasetSpec:
    """``load(data_cfg, seed)`` returns a :class:`tfexp.data.Data`: a streaming source, or
    train/val/test arrays as :class:`tfexp.data.ArrayData` (alias ``Datasets``)."""

    name: str
    load: Callable[[DictConfig, int], Data]
    description: str = ""


@dataclass(frozen=True)
class StrategySpec:
    """``create(strategy_cfg)`` returns a ``tf.distribute.Strategy``."""

    name: str
    create: Callable[[DictConfig], tf.distribute.Strategy]
    description: str = ""


@dataclass(frozen=True)
class TechniqueSpec:
    """``factory(technique_cfg)`` returns an object with ``@tfexp.hookimpl`` methods.

    The runner registers that object as a plugin for the duration of one run, so a
    technique changes a run by implementing the same hooks as any other plugin.
    """

    name: str
    factory: Callable[[DictConfig], Any]
    description: str = ""


COMPONENT_KINDS: dict[str, tuple[str, type]] = {
    "model": ("tfexp_register_models", ModelSpec),
    "data": ("tfexp_register_datasets", DatasetSpec),
    "strategy": ("tfexp_register_strategies", StrategySpec),
    "technique": ("tfexp_register_techniques", TechniqueSpec),
}
"""Config group -> (registration hook, spec type)."""
