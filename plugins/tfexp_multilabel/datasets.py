"""Multi-label datasets: a generated one and a loader for CSV/Parquet files.

Both return :class:`MultilabelArrays`: in-memory arrays (the featurizer is fitted on the
whole train split, so these sources are small by nature), multi-hot float32 targets, label
names, and the fitted feature transformer, which is logged with the model so new rows can
be predicted. When that transformer only standardizes numbers, it is also given as
``preprocessing`` (an :class:`tfexp.data.Affine`), so exporters can serve raw inputs.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from tfexp.data import Affine, ArrayData
from tfexp.errors import TfexpError
from tfexp_multilabel.config import check_file, check_synthetic


@dataclass(eq=False)
class MultilabelArrays(ArrayData):
    featurizer: Any = None
    """The fitted scikit-learn transformer that turned raw rows into ``x`` (None: x is raw)."""


def random_split(n: int, cfg, seed: int) -> dict[str, np.ndarray]:
    """Row indices of train/val/test (random, not stratified: label sets rarely repeat)."""
    order = np.random.default_rng(seed).permutation(n)
    n_test, n_val = round(n * cfg.test_fraction), round(n * cfg.val_fraction)
    return {"test": order[:n_test], "val": order[n_test : n_test + n_val], "train": order[n_test + n_val :]}


def standardization_of(featurizer) -> Affine | None:
    """The fitted featurizer as ``raw * scale + offset`` if it is a ``StandardScaler`` (alone or
    as the ``scale`` step of a column transformer); None otherwise (TF-IDF)."""
    from sklearn.preprocessing import StandardScaler

    scaler = getattr(featurizer, "named_transformers_", {}).get("scale", featurizer)
    if not isinstance(scaler, StandardScaler):
        return None
    return Affine(scale=(1 / scaler.scale_).astype("float32"), offset=(-scaler.mean_ / scaler.scale_).astype("float32"))


def featurize(rows, y: np.ndarray, featurizer, cfg, seed: int, names: list[str]) -> MultilabelArrays:
    """Split, fit ``featurizer`` on the train rows only (no leak), transform every split."""
    splits = random_split(len(y), cfg, seed)
    take = (lambda idx: rows.iloc[idx]) if hasattr(rows, "iloc") else (lambda idx: rows[idx])
    featurizer.fit(take(splits["train"]))
    arrays = {}
    for split, idx in splits.items():
        arrays[f"x_{split}"] = np.asarray(featurizer.transform(take(idx)), dtype="float32")
        arrays[f"y_{split}"] = y[idx].astype("float32")
    return MultilabelArrays(
        **arrays, task="multilabel", class_names=names, preprocessing=standardization_of(featurizer), featurizer=featurizer
    )


def load_synthetic_multilabel(node, seed: int) -> MultilabelArrays:
    from sklearn.datasets import make_multilabel_classification
    from sklearn.preprocessing import StandardScaler

    cfg = check_synthetic(node)
    x, y = make_multilabel_classification(
        n_samples=cfg.n_samples, n_features=cfg.n_features, n_classes=cfg.n_labels, n_labels=cfg.cardinality,
        allow_unlabeled=cfg.allow_unlabeled, random_state=seed,
    )
    return featurize(x.astype("float32"), y, StandardScaler(), cfg, seed, [f"label_{i}" for i in range(cfg.n_labels)])


# -- files ------------------------------------------------------------------------------


def read_table(path: str):
    """The file as a DataFrame; a file that cannot be read, or has no rows, is a clear error."""
    import pandas as pd

    path = Path(path).expanduser()
    kind = "CSV" if path.suffix.lower() == ".csv" else "Parquet"
    try:
        frame = pd.read_csv(path) if kind == "CSV" else pd.read_parquet(path)
    except Exception as exc:  # pandas/pyarrow raise many types for a bad file
        raise TfexpError(f"data.path={path} cannot be read as {kind} ({type(exc).__name__}: {exc}). Check the file or point data.path at another one.") from None
    if frame.empty:
        raise TfexpError(f"data.path={path} has no rows. Point data.path at a file with examples.")
    return frame


def _require_columns(frame, columns: list[str], key: str) -> None:
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise TfexpError(f"{key}: column(s) {missing} are not in the file; its columns are {list(frame.columns)}.")


def multi_hot_columns(frame, columns: list[str], key: str) -> np.ndarray:
    """Label columns that must hold 0/1 (or booleans)."""
    _require_columns(frame, columns, key)
    for column in columns:
        values = frame[column]
        bad = values[~values.isin([0, 1, True, False])]
        if len(bad):
            raise TfexpError(
                f"{key}: column {column!r} holds {bad.iloc[0]!r}, but multi-hot label columns hold 0/1. "
                f"For a column of label names use data.labels_column={column} instead."
            )
    return frame[columns].to_numpy(dtype="float32")


def label_names_of(value, separator: str) -> list[str]:
    """One cell of a label-list column: ``"a|b"``, a list/array of names, or empty/NaN."""
    if isinstance(value, str):
        return [name.strip() for name in value.split(separator) if name.strip()]
    if value is None or (isinstance(value, float) and np.isnan(value)):  # an empty CSV cell
        return []
    return [str(name) for name in value]


def label_lists(frame, cfg) -> tuple[np.ndarray, list[str]]:
    from sklearn.preprocessing import MultiLabelBinarizer

    _require_columns(frame, [cfg.labels_column], "data.labels_column")
    binarizer = MultiLabelBinarizer()
    y = binarizer.fit_transform([label_names_of(v, cfg.label_separator) for v in frame[cfg.labels_column]])
    if y.shape[1] == 0:
        raise TfexpError(f"data.labels_column={cfg.labels_column!r} holds no label names (separator {cfg.label_separator!r}).")
    return y.astype("float32"), [str(c) for c in binarizer.classes_]


def text_featurizer(frame, cfg):
    from sklearn.compose import ColumnTransformer
    from sklearn.feature_extraction.text import TfidfVectorizer

    _require_columns(frame, [cfg.text_column], "data.text_column")
    frame[cfg.text_column] = frame[cfg.text_column].fillna("").astype(str)
    return ColumnTransformer([("tfidf", TfidfVectorizer(max_features=cfg.max_features), cfg.text_column)], sparse_threshold=0)


def numeric_featurizer(frame, columns: list[str]):
    from pandas.api.types import is_numeric_dtype
    from sklearn.compose import ColumnTransformer
    from sklearn.preprocessing import StandardScaler

    _require_columns(frame, columns, "data.feature_columns")
    if not columns:
        raise TfexpError("data.feature_columns: the file has no feature columns besides the labels; set data.text_column or add features.")
    for column in columns:
        if not is_numeric_dtype(frame[column]):
            raise TfexpError(f"data.feature_columns: column {column!r} is not numeric; use data.text_column={column} for text, or list numeric columns in data.feature_columns.")
        if missing := int(frame[column].isna().sum()):
            raise TfexpError(f"data.feature_columns: column {column!r} has {missing} missing values; fill or drop them first.")
    return ColumnTransformer([("scale", StandardScaler(), list(columns))])


def load_multilabel_file(node, seed: int) -> MultilabelArrays:
    """See docs/multilabel.md for the accepted layouts."""
    cfg = check_file(node)
    frame = read_table(cfg.path)
    if cfg.labels_column is not None:
        y, names = label_lists(frame, cfg)
        label_cols = [cfg.labels_column]
    else:
        label_cols = list(cfg.label_columns) or [c for c in frame.columns if str(c).startswith(cfg.label_prefix)]
        key = "data.label_columns" if cfg.label_columns else "data.label_prefix"
        if not label_cols:
            raise TfexpError(f"{key}: no column starts with {cfg.label_prefix!r}; the file's columns are {list(frame.columns)}.")
        y, names = multi_hot_columns(frame, label_cols, key), [str(c) for c in label_cols]
    if cfg.text_column:
        featurizer = text_featurizer(frame, cfg)
    else:
        featurizer = numeric_featurizer(frame, list(cfg.feature_columns) or [c for c in frame.columns if c not in label_cols])
    return featurize(frame, y, featurizer, cfg, seed, names)
