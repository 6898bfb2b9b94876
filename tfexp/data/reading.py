"""Whole-split reads, made explicit: one streaming pass that keeps outputs and targets
(numbers per example, never inputs), or a materialisation with a size limit."""

from __future__ import annotations

import numpy as np

from tfexp.data.source import Data
from tfexp.errors import ConfigError


def predict(model, data: Data, split: str, *, batch_size: int = 256) -> tuple[np.ndarray, np.ndarray]:
    """``(outputs, targets)`` of a whole split in one streaming pass (N x outputs numbers)."""
    outputs, targets = [], []
    for x, y in data.dataset(split, batch_size=batch_size):
        outputs.append(np.asarray(model(x, training=False)))
        targets.append(y.numpy())
    if not outputs:
        raise ConfigError(f"the {split} split of data={data.source} is empty; check the files or the split fractions")
    return np.concatenate(outputs), np.concatenate(targets)


def materialize(data: Data, split: str, *, limit: int, key: str, why: str) -> tuple[np.ndarray, np.ndarray]:
    """A split's ``(inputs, targets)`` as arrays, for code that truly needs them in memory.

    Fails in one line naming the split's size, the ``limit`` and the config ``key`` that
    raises it; ``why`` says who needs the arrays ("FixMatch's unlabeled pool")."""
    known = data.spec.size(split)
    if known is not None and known > limit:
        raise ConfigError(_too_large(split, f"{known} examples", limit, key, why))
    xs, ys, count = [], [], 0
    for x, y in data.dataset(split, batch_size=min(limit + 1, 4096)):
        count += len(x)
        if count > limit:
            raise ConfigError(_too_large(split, f"more than {limit} examples", limit, key, why))
        xs.append(x.numpy())
        ys.append(y.numpy())
    if not xs:
        raise ConfigError(f"the {split} split of data={data.source} is empty; check the files or the split fractions")
    return np.concatenate(xs), np.concatenate(ys)


def _too_large(split: str, size: str, limit: int, key: str, why: str) -> str:
    return f"{why} needs the {split} split in memory, which has {size}: over {key}={limit}. Raise {key} or use a smaller split."


def label_counts(data: Data, split: str, num_classes: int, *, batch_size: int = 4096) -> np.ndarray:
    """How many examples of each class a split has, in one streaming pass over its labels."""
    counts = np.zeros(num_classes, dtype=np.int64)
    for _, y in data.dataset(split, batch_size=batch_size, raw=True):
        counts += np.bincount(np.asarray(y).reshape(-1).astype(np.int64), minlength=num_classes)[:num_classes]
    return counts
