"""Hide the labels of most of the training split: a labeled subset and an unlabeled pool.

The pool keeps its true labels only as ``hidden_y``, which is read by diagnostics
(pseudo-label accuracy) and never by anything that trains.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from tfexp.data import Datasets
from tfexp.errors import TfexpError


@dataclass(frozen=True)
class UnlabeledPool:
    x: np.ndarray
    hidden_y: np.ndarray
    """True labels, for diagnostics only: training code receives ``x`` alone."""


def labeled_indices(y: np.ndarray, seed: int, fraction: float, per_class: int | None = None) -> np.ndarray:
    """Sorted indices of the examples that keep their labels, chosen class by class.

    Each class keeps ``per_class`` examples, or ``round(fraction * its count)`` (at least
    one), so the labeled subset has the class balance of ``y``. The same ``seed``
    always picks the same examples."""
    rng = np.random.default_rng(seed)
    chosen = []
    for label in np.unique(y):
        members = np.flatnonzero(y == label)
        keep = per_class if per_class is not None else max(1, round(fraction * len(members)))
        if keep >= len(members):
            raise TfexpError(
                f"class {label!r} has {len(members)} training examples, so keeping {keep} labeled leaves none unlabeled. "
                f"Lower technique.labels_per_class or technique.labeled_fraction."
            )
        chosen.append(rng.choice(members, size=keep, replace=False))
    return np.sort(np.concatenate(chosen))


def split_labeled(datasets: Datasets, seed: int, fraction: float, per_class: int | None = None) -> tuple[Datasets, UnlabeledPool]:
    """``datasets`` with only the labeled subset as its train split, and the unlabeled pool.

    Validation and test splits are untouched (fully labeled)."""
    if datasets.task != "multiclass":
        raise TfexpError(f"technique semisup needs a multiclass dataset, this one is {datasets.task}. Choose data=digits or data=synthetic.")
    keep = labeled_indices(datasets.y_train, seed, fraction, per_class)
    hidden = np.setdiff1d(np.arange(len(datasets.y_train)), keep)
    labeled = replace(datasets, x_train=datasets.x_train[keep], y_train=datasets.y_train[keep])
    return labeled, UnlabeledPool(x=datasets.x_train[hidden], hidden_y=datasets.y_train[hidden])
