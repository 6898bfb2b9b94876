"""CSV and Parquet files, read in batches and never whole into memory.

Columns are learned from the first train file only (the CSV header, the Parquet schema);
targets are declared in config. CSV lines are batched, then parsed with one
``decode_csv``; Parquet files stream row batches (``iter_batches``) through
``from_generator``, one generator per file, interleaved by :class:`FileData`.
"""

from __future__ import annotations

import abc
import csv
import logging
import os
from dataclasses import replace

import numpy as np

from tfexp.data import SPLITS, DataSpec, FileData
from tfexp.data.errors import check_finite
from tfexp.errors import ConfigError
from tfexp_files.optional import require
from tfexp_files.tabular_config import check_csv, check_parquet, label_columns, outputs
from tfexp_files.tfrecord_source import standardizing

log = logging.getLogger("tfexp.data")


class TabularData(FileData):
    """Named columns: ``features`` become the input vector, ``labels`` the targets."""

    def __init__(self, cfg) -> None:
        super().__init__(spec=None, patterns={split: cfg[split] for split in SPLITS}, key="data")  # spec: below, from the columns
        self.cfg = cfg
        first = self.files("train")[0]
        columns = self.columns(first)
        self.column_names = list(columns)
        self.labels = label_columns(cfg)
        self.features = list(cfg.features) or [c for c in columns if c not in self.labels]
        for key, wanted in (("data.label", self.labels), ("data.features", self.features)):
            if missing := [c for c in wanted if c not in columns]:
                raise ConfigError(f"{key} names {', '.join(map(repr, missing))}, not a column of {first}; its columns are: {', '.join(columns)}")
        if not self.features:
            raise ConfigError(f"{first} has no input column besides data.label={cfg.label}; name them with data.features=[a,b]")
        self.check_types(columns, first)
        num_outputs, class_names = outputs(cfg)
        self.spec = DataSpec(
            task=cfg.task, input_shape=(len(self.features),), num_outputs=num_outputs, class_names=class_names,
            num_examples={split: self.count(split) for split in SPLITS},
        )

    @abc.abstractmethod
    def columns(self, path: str) -> dict:
        """Column name -> type (as the format says it), in file order."""

    def check_types(self, columns: dict[str, str], path: str) -> None:
        """Fail on a chosen column whose type cannot be read."""

    @abc.abstractmethod
    def count(self, split: str) -> int | None:
        """The split's size where the files say it without reading rows; fails when empty."""

    def empty(self, split: str) -> ConfigError:
        return ConfigError(f"the {split} split is empty: data.{split}={self.cfg[split]} matches only files with no rows")

    @property
    def label_dtype(self) -> str:
        return "int64" if self.cfg.task == "multiclass" else "float32"

    def targets(self, labels):
        """Label columns ``[batch, n]`` -> targets; class indices are checked against ``num_classes``."""
        import tensorflow as tf

        from tfexp.data.tfrecord import check_labels

        if self.cfg.task == "multiclass":
            return tf.cast(check_labels(labels[:, 0], self.labels[0], self.spec.num_outputs), tf.int32)
        return labels[:, 0] if self.cfg.task == "regression" and len(self.labels) == 1 else labels


class CsvData(TabularData):
    def columns(self, path):
        with open(path, newline="") as f:
            header = next(csv.reader(f, delimiter=self.cfg.delimiter), [])
        return unique_columns(header, path, "csv")

    def count(self, split):
        """Counted for files up to ``SMALL_FILES_BYTES`` (so a batch larger than the split is
        refused up front); larger ones are only checked to have a row."""
        files = self.files(split)
        if sum(os.path.getsize(f) for f in files) <= SMALL_FILES_BYTES:
            rows = sum(_rows(path) for path in files)
        else:
            rows = None if any(_has_row(path) for path in files) else 0
        if rows == 0:
            raise self.empty(split)
        return rows

    def read(self, filename):
        import tensorflow as tf

        return tf.data.TextLineDataset(filename).skip(1).filter(lambda line: tf.strings.length(line) > 0)

    def parse(self, lines):
        import tensorflow as tf

        wanted = set(self.features) | set(self.labels)
        names = [c for c in self.column_names if c in wanted]
        dtypes = {c: tf.float32 for c in self.features} | {c: tf.as_dtype(self.label_dtype) for c in self.labels}
        values = tf.io.decode_csv(
            lines, [tf.constant([float("nan")] if c in self.features else [], dtypes[c]) for c in names], field_delim=self.cfg.delimiter,
            select_cols=[self.column_names.index(c) for c in names],
        )
        by_name = dict(zip(names, values))
        x = tf.stack([by_name[c] for c in self.features], axis=1)
        return check_finite(x, self.features), self.targets(tf.stack([by_name[c] for c in self.labels], axis=1))


class ParquetData(TabularData):
    def columns(self, path):
        pq = require("pyarrow.parquet", "parquet")
        try:
            schema = pq.read_schema(path)
        except Exception as exc:
            raise ConfigError(f"{path} cannot be read as Parquet: {exc}") from exc
        return {name: schema.field(name).type for name in unique_columns(schema.names, path, "parquet")}

    def check_types(self, columns, path):
        import pyarrow as pa

        numeric = (pa.types.is_integer, pa.types.is_floating, pa.types.is_boolean)
        for c in self.features + self.labels:
            integer_label = c in self.labels and self.cfg.task == "multiclass"
            allowed = (pa.types.is_integer,) if integer_label else numeric
            if not any(ok(columns[c]) for ok in allowed):
                kind = "integer class indices" if integer_label else "numbers"
                raise ConfigError(f"column {c!r} of {path} is {columns[c]}: data=parquet reads {kind} there")

    def count(self, split):
        pq = require("pyarrow.parquet", "parquet")
        rows = sum(pq.read_metadata(path).num_rows for path in self.files(split))
        if not rows:
            raise self.empty(split)
        return rows

    def read(self, filename):
        import tensorflow as tf

        signature = (
            tf.TensorSpec([None, len(self.features)], tf.float32),
            tf.TensorSpec([None, len(self.labels)], tf.as_dtype(self.label_dtype)),
        )
        return tf.data.Dataset.from_generator(self.row_batches, args=(filename,), output_signature=signature).unbatch()

    def row_batches(self, filename: bytes):
        """``(inputs, labels)`` per row batch of one file (numpy, vectorized)."""
        import pyarrow.parquet as pq

        path = filename.decode()
        for batch in pq.ParquetFile(path).iter_batches(batch_size=self.cfg.batch_rows, columns=self.features + self.labels):
            def stack(names, dtype):
                return np.stack([batch.column(c).to_numpy(zero_copy_only=False) for c in names], axis=1).astype(dtype)

            yield stack(self.features, "float32"), stack(self.labels, self.label_dtype)

    def parse(self, batch):
        x, labels = batch
        return check_finite(x, self.features), self.targets(labels)


def unique_columns(names: list[str], path: str, kind: str) -> dict[str, str]:
    """Column name -> ``kind``, or an error naming a column the file has twice (one of
    them would be silently dropped)."""
    if twice := sorted({n for n in names if names.count(n) > 1}):
        raise ConfigError(f"{path} has the column name {twice[0]!r} {names.count(twice[0])} times: rename the columns so that each name is unique")
    return {name: kind for name in names}


def _has_row(path: str) -> bool:
    with open(path) as f:
        f.readline()  # the header
        return any(line.strip() for line in f)


def _rows(path: str) -> int:
    with open(path) as f:
        f.readline()  # the header
        return sum(1 for line in f if line.strip())


SMALL_FILES_BYTES = 16 * 2**20
"""Files up to this size (per split) are read once at start: CSV rows are counted and a class no
training row has is warned about; larger ones are not read twice (their bad records still fail
in one line, when training reads them)."""


def prepared(data: TabularData) -> TabularData:
    """``data`` standardized and its classes checked; a bad record met on the way (NaN/inf,
    a class out of range) fails in one line naming its file."""
    import tensorflow as tf

    try:
        if data.cfg.normalize == "standardize":
            data.spec = replace(data.spec, preprocessing=standardizing(data, data.cfg.normalize_sample))
        warn_missing_classes(data)
    except tf.errors.OpError as exc:
        raise (data.explain(exc) or exc) from None
    return data


def warn_missing_classes(data: TabularData) -> None:
    """A class that no training row has cannot be learned: warn, naming the label column."""
    files = data.files("train")
    if data.cfg.task != "multiclass" or sum(os.path.getsize(f) for f in files) > SMALL_FILES_BYTES:
        return
    from tfexp.data.reading import label_counts

    counts = label_counts(data, "train", data.spec.num_outputs)
    if missing := [data.spec.class_names[i] for i in np.flatnonzero(counts == 0)]:
        log.warning("data: class(es) %s of label column %r never occur in the training files (%s, %d rows): the model cannot learn "
                    "them. Check data.num_classes / data.class_names, or add rows", ", ".join(missing), data.labels[0], ", ".join(files), counts.sum())


def load_csv(cfg, seed: int) -> CsvData:
    return prepared(CsvData(check_csv(cfg)))


def load_parquet(cfg, seed: int) -> ParquetData:
    return prepared(ParquetData(check_parquet(cfg)))
