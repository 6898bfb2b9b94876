"""Built-in datasets that need no download: sklearn's bundled digits and breast cancer
tables, and a generated set."""

from __future__ import annotations

import numpy as np

from tfexp import hookimpl
from tfexp.components import DatasetSpec
from tfexp.data import Affine, Datasets


def split_arrays(x: np.ndarray, y: np.ndarray, cfg, seed: int) -> dict[str, np.ndarray]:
    """Stratified train/val/test split, deterministic for a seed."""
    from sklearn.model_selection import train_test_split

    x_rest, x_test, y_rest, y_test = train_test_split(x, y, test_size=cfg.test_fraction, stratify=y, random_state=seed)
    val_share = cfg.val_fraction / (1 - cfg.test_fraction)
    x_train, x_val, y_train, y_val = train_test_split(x_rest, y_rest, test_size=val_share, stratify=y_rest, random_state=seed)
    return dict(x_train=x_train, y_train=y_train, x_val=x_val, y_val=y_val, x_test=x_test, y_test=y_test)


def load_digits(cfg, seed: int) -> Datasets:
    from sklearn.datasets import load_digits as sklearn_digits

    bunch = sklearn_digits()
    scaling = Affine(scale=np.float32(1 / 16), offset=np.float32(0))  # pixel values are 0..16
    x = scaling.apply(bunch.data)
    if cfg.image_shape:
        x = x.reshape(-1, 8, 8, 1)
    y = bunch.target.astype("int32")
    return Datasets(**split_arrays(x, y, cfg, seed), class_names=[str(c) for c in bunch.target_names], preprocessing=scaling)


def load_synthetic(cfg, seed: int) -> Datasets:
    from sklearn.datasets import make_classification

    x, y = make_classification(
        n_samples=cfg.n_samples,
        n_features=cfg.n_features,
        n_informative=cfg.n_informative,
        n_redundant=0,
        n_classes=cfg.n_classes,
        class_sep=cfg.class_sep,
        random_state=seed,
    )
    return standardized(split_arrays(x.astype("float32"), y.astype("int32"), cfg, seed), [str(c) for c in range(cfg.n_classes)])


def load_breast_cancer(cfg, seed: int) -> Datasets:
    from sklearn.datasets import load_breast_cancer as sklearn_breast_cancer

    bunch = sklearn_breast_cancer()
    arrays = split_arrays(bunch.data.astype("float32"), bunch.target.astype("int32"), cfg, seed)
    return standardized(arrays, [str(c) for c in bunch.target_names])


def standardized(arrays: dict[str, np.ndarray], class_names: list[str]) -> Datasets:
    """Tabular features on very different scales, standardized with the train split's
    statistics only (no leak); the same affine map is the export's preprocessing."""
    from sklearn.preprocessing import StandardScaler

    scaler = StandardScaler().fit(arrays["x_train"])
    for split in ("train", "val", "test"):
        arrays[f"x_{split}"] = scaler.transform(arrays[f"x_{split}"]).astype("float32")
    standardizing = Affine(scale=(1 / scaler.scale_).astype("float32"), offset=(-scaler.mean_ / scaler.scale_).astype("float32"))
    return Datasets(**arrays, class_names=class_names, preprocessing=standardizing)


@hookimpl
def tfexp_register_datasets():
    return [
        DatasetSpec("digits", load_digits, "sklearn's bundled 8x8 digits, 10 classes, 1797 images"),
        DatasetSpec("synthetic", load_synthetic, "sklearn make_classification (data.n_samples, n_features, n_classes)"),
        DatasetSpec("breast_cancer", load_breast_cancer, "sklearn's bundled Wisconsin breast cancer table, 2 classes, 569 rows of 30 features"),
    ]
