"""What models, losses and exporters need to know about a data set, with no examples in it."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Mapping

import numpy as np

TASKS = ("multiclass", "multilabel", "regression")
SPLITS = ("train", "val", "test")
INPUT_KINDS = {3: "image", 2: "sequence", 1: "tabular"}
"""What an example is, by the rank of its shape (see :func:`input_kind`)."""


def input_kind(input_shape: tuple[int, ...]) -> str:
    """``image`` for (height, width, channels), ``sequence`` for (length, channels),
    ``tabular`` for (features,): what a model (``model=auto``) or an augmentation (FixMatch's
    views) should treat an input as. Other ranks are read as ``tabular``: a flattened row is
    what any of them can be fed as."""
    return INPUT_KINDS.get(len(input_shape), "tabular")


@dataclass(frozen=True)
class Affine:
    """``raw * scale + offset``, elementwise (scalars or arrays that broadcast over one
    example): how raw inputs become what the model sees. Exporters put it in front of the
    model so that servers take raw inputs; pipelines apply it batch by batch."""

    scale: np.ndarray | float
    offset: np.ndarray | float

    def apply(self, raw):
        """NumPy arrays or float32 tensors alike (a tf.data map applies it to each batch)."""
        return _float32(raw) * np.asarray(self.scale, "float32") + np.asarray(self.offset, "float32")

    def invert(self, x):
        return (_float32(x) - np.asarray(self.offset, "float32")) / np.asarray(self.scale, "float32")


def _float32(values):
    return values.astype("float32") if isinstance(values, np.ndarray) else values


@dataclass(frozen=True)
class DataSpec:
    """The metadata a source declares (feature spec, schema file, TFDS info, config):
    never inferred by reading the whole data set.

    ``num_examples`` maps a split to its size, or None when unknown (a stream)."""

    task: str
    input_shape: tuple[int, ...]
    num_outputs: int
    class_names: tuple[str, ...] = ()
    preprocessing: Affine | None = None
    """What the pipeline does to raw inputs before the model sees them (None: nothing)."""
    num_examples: Mapping[str, int | None] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.task not in TASKS:
            raise ValueError(f"task must be one of {TASKS}, got {self.task!r}")
        if self.task == "multiclass" and self.class_names and len(self.class_names) != self.num_outputs:
            raise ValueError(f"{len(self.class_names)} class names for {self.num_outputs} classes")

    def size(self, split: str) -> int | None:
        return self.num_examples.get(split)
