"""The in-memory dataset every data plugin returns, and its tf.data pipelines."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

TASKS = ("multiclass", "multilabel", "regression")


@dataclass(frozen=True)
class Affine:
    """``raw * scale + offset``, elementwise (scalars or arrays that broadcast over one
    example): how a loader turned raw inputs into the arrays it hands out. Exporters put
    it in front of the model so that servers take raw inputs."""

    scale: np.ndarray | float
    offset: np.ndarray | float

    def apply(self, raw: np.ndarray) -> np.ndarray:
        return (raw * self.scale + self.offset).astype("float32")

    def invert(self, x: np.ndarray) -> np.ndarray:
        return ((x - self.offset) / self.scale).astype("float32")


@dataclass
class Datasets:
    """Train/validation/test arrays plus what a model and loss need to know about them.

    ``y`` holds class indices for ``multiclass``, multi-hot rows for ``multilabel`` and
    floats for ``regression``.
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
    """What the loader did to raw inputs to get ``x_*`` (None: the arrays are raw)."""

    def __post_init__(self) -> None:
        if self.task not in TASKS:
            raise ValueError(f"task must be one of {TASKS}, got {self.task!r}")
        for split in ("train", "val", "test"):
            x, y = self.split(split)
            if len(x) != len(y):
                raise ValueError(f"{split} split has {len(x)} inputs but {len(y)} targets")
        if self.task == "multiclass" and not self.class_names:
            self.class_names = [str(c) for c in range(int(self.y_train.max()) + 1)]

    @property
    def input_shape(self) -> tuple[int, ...]:
        return tuple(self.x_train.shape[1:])

    @property
    def num_outputs(self) -> int:
        if self.task == "multiclass":
            return len(self.class_names)
        return 1 if self.y_train.ndim == 1 else int(self.y_train.shape[1])

    def split(self, name: str) -> tuple[np.ndarray, np.ndarray]:
        return getattr(self, f"x_{name}"), getattr(self, f"y_{name}")

    def raw_inputs(self, name: str) -> np.ndarray:
        """One split's inputs as they were before ``preprocessing`` (what a server receives)."""
        x = getattr(self, f"x_{name}")
        return self.preprocessing.invert(x) if self.preprocessing else x

    def as_tf(self, name: str, batch_size: int, shuffle: bool = False, seed: int | None = None, drop_remainder: bool = False):
        """A batched, prefetched ``tf.data.Dataset`` of one split (cached: arrays are small).

        ``drop_remainder`` keeps every batch full (multi-worker steps stay in lockstep)."""
        import tensorflow as tf

        x, y = self.split(name)
        ds = tf.data.Dataset.from_tensor_slices((x, y)).cache()
        if shuffle:
            ds = ds.shuffle(len(x), seed=seed, reshuffle_each_iteration=True)
        return ds.batch(batch_size, drop_remainder=drop_remainder).prefetch(tf.data.AUTOTUNE)
