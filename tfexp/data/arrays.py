"""In-memory arrays: the simple case of the data contract, with the constructor every
loader has always used (``Datasets(x_train, y_train, x_val, y_val, x_test, y_test)``)."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

import numpy as np

from tfexp.data.pipeline import Pipeline
from tfexp.data.source import Data
from tfexp.data.spec import SPLITS, TASKS, Affine, DataSpec


@dataclass(eq=False)
class ArrayData(Data):
    """Train/validation/test arrays plus what a model and loss need to know about them.

    ``y`` holds class indices for ``multiclass``, multi-hot rows for ``multilabel`` and
    floats for ``regression``; ``x_*`` are what the model sees, ``preprocessing`` how they
    were made from raw inputs (None: the arrays are raw).
    """

    x_train: np.ndarray
    y_train: np.ndarray
    x_val: np.ndarray
    y_val: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    task: str = "multiclass"
    class_names: list[str] = field(default_factory=list)
    preprocessing: Affine | None = None

    def __post_init__(self) -> None:
        if self.task not in TASKS:
            raise ValueError(f"task must be one of {TASKS}, got {self.task!r}")
        for split in SPLITS:
            x, y = self.split(split)
            if len(x) != len(y):
                raise ValueError(f"{split} split has {len(x)} inputs but {len(y)} targets")
        if self.task == "multiclass" and not self.class_names:
            self.class_names = [str(c) for c in range(int(self.y_train.max()) + 1)]

    @cached_property
    def spec(self) -> DataSpec:
        if self.task == "multiclass":
            outputs = len(self.class_names)
        else:
            outputs = 1 if self.y_train.ndim == 1 else int(self.y_train.shape[1])
        return DataSpec(
            task=self.task, input_shape=tuple(self.x_train.shape[1:]), num_outputs=outputs,
            class_names=tuple(self.class_names), preprocessing=self.preprocessing,
            num_examples={split: len(self.split(split)[0]) for split in SPLITS},
        )

    def split(self, name: str) -> tuple[np.ndarray, np.ndarray]:
        return getattr(self, f"x_{name}"), getattr(self, f"y_{name}")

    def records(self, split, *, training, seed, input_context, pipeline):
        import tensorflow as tf

        ds = tf.data.Dataset.from_tensor_slices(self.split(split))
        if input_context and input_context.num_input_pipelines > 1:  # no files: shard by example
            ds = ds.shard(input_context.num_input_pipelines, input_context.input_pipeline_id)
        return ds

    def decode(self, batch, raw):
        x, y = batch
        return (self.preprocessing.invert(x) if raw and self.preprocessing else x), y

    def shuffle_buffer(self, split: str, pipeline: Pipeline) -> int:
        return len(self.split(split)[0])  # in memory anyway: a full shuffle costs nothing more

    def identity(self) -> dict[str, Any]:
        # Shapes plus a strided sample of bytes: cheap, and changes when the arrays do.
        def probe(a: np.ndarray) -> str:
            strided = np.ascontiguousarray(a[:: max(1, len(a) // 64)]).tobytes()
            return f"{a.shape}:{a.dtype}:{hashlib.sha256(strided).hexdigest()[:12]}"

        return {**super().identity(), "arrays": [probe(a) for s in SPLITS for a in self.split(s)]}


Datasets = ArrayData
"""The name loaders have always used for :class:`ArrayData`."""
