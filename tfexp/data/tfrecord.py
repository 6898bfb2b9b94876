"""TFRecord files of ``tf.train.Example`` records: feature types, reading and writing.

A feature type is written as in config, ``float32[64]``, ``int64[]`` (a scalar),
``float32[8,8,1]`` or ``string``. A batch of records is parsed with one ``parse_example``
(as a hand-tuned pipeline would); a missing or wrong-shaped feature fails there and is
reported in one line naming the feature and the file (see :mod:`tfexp.data.errors`).
"""

from __future__ import annotations

import math
import re
import logging
from dataclasses import dataclass
from typing import Any, Mapping, Sequence

import numpy as np

from tfexp.data.files import FileData
from tfexp.data.spec import DataSpec
from tfexp.errors import ConfigError

log = logging.getLogger("tfexp.data")

DTYPES = ("float32", "int64", "string")
_TYPE = re.compile(r"^\s*(\w+)\s*(?:\[\s*([\d\s,]*)\s*\])?\s*$")
GZIP_SUFFIX = ".gz"


@dataclass(frozen=True)
class FeatureType:
    dtype: str
    shape: tuple[int, ...] = ()

    @classmethod
    def parse(cls, text: str, key: str) -> FeatureType:
        """``float32[8,8,1]`` -> ``FeatureType("float32", (8, 8, 1))``; ``key`` names the
        config key in the error."""
        match = _TYPE.match(str(text))
        if not match or match.group(1) not in DTYPES:
            raise ConfigError(f"{key}={text!r} is not a feature type: write float32[64], int64[] (a scalar), float32[8,8,1] or string")
        dims = [d for d in (match.group(2) or "").replace(" ", "").split(",") if d]
        if any(int(d) < 1 for d in dims):
            raise ConfigError(f"{key}={text!r}: every dimension must be >= 1")
        return cls(match.group(1), tuple(int(d) for d in dims))

    @property
    def size(self) -> int:
        return math.prod(self.shape)

    def __str__(self) -> str:
        return self.dtype if self.dtype == "string" else f"{self.dtype}[{','.join(map(str, self.shape))}]"

    @classmethod
    def of(cls, values: np.ndarray) -> FeatureType:
        """The type that holds one example of ``values`` (a batch): floats as float32,
        integers and booleans as int64."""
        kind = "float32" if np.issubdtype(values.dtype, np.floating) else "int64"
        return cls(kind, tuple(int(d) for d in values.shape[1:]))


def compression_of(filename: str, compression: str | None) -> str:
    """TFRecordDataset's compression for a file: the configured one, else from the suffix."""
    if compression is None:
        return "GZIP" if filename.endswith(GZIP_SUFFIX) else ""
    return "" if compression == "NONE" else compression


def read_file(filename, compression: str | None):
    """One file's records."""
    import tensorflow as tf

    if compression is None:
        kind = tf.where(tf.strings.regex_full_match(filename, f".*{re.escape(GZIP_SUFFIX)}"), "GZIP", "")
    else:
        kind = compression_of("", compression)
    return tf.data.TFRecordDataset(filename, compression_type=kind)


def parse_batch(records, types: Mapping[str, FeatureType]) -> dict:
    """A batch of serialized Examples -> ``{name: tensor [batch, *shape]}`` in one
    ``parse_example``, which itself fails on a missing feature or one of another size
    (:func:`tfexp.data.errors.read_error` words that; ``FileData.explain`` finds the file)."""
    import tensorflow as tf

    return tf.io.parse_example(records, {name: tf.io.FixedLenFeature(t.shape, _tf_dtype(t)) for name, t in types.items()})


def check_labels(labels, name: str, num_classes: int):
    """Class indices in ``0..num_classes-1``, or an error naming the label and the value."""
    import tensorflow as tf

    from tfexp.data.errors import check_records

    ok = (labels >= 0) & (labels < num_classes)

    def message():
        bad = labels[tf.argmin(tf.cast(ok, tf.int32))]
        return tf.strings.join([
            f"label '{name}' is ", tf.strings.as_string(bad),
            f" in a record, outside 0..{num_classes - 1} (data.num_classes={num_classes}); fix the label or data.num_classes",
        ])

    return check_records(tf.reduce_all(ok), message, labels)


def _tf_dtype(ftype: FeatureType):
    import tensorflow as tf

    return {"float32": tf.float32, "int64": tf.int64, "string": tf.string}[ftype.dtype]


class TFRecordData(FileData):
    """Records whose features ``types`` hold the inputs and the ``label``.

    Inputs are every feature but the label: one of any shape, or several of at most one
    dimension, concatenated in order. They are cast to float32; the label is a class index
    (int32, checked against the classes) for ``multiclass``, float32 otherwise."""

    def __init__(self, spec: DataSpec, patterns, types: Mapping[str, FeatureType], label: str,
                 compression: str | None = None, key: str = "data") -> None:
        super().__init__(spec, patterns, key)
        self.types, self.label, self.compression = dict(types), label, compression
        self.inputs = [name for name in self.types if name != label]

    def read(self, filename):
        return read_file(filename, self.compression)

    def records(self, split, *, training, seed, input_context, pipeline):
        workers = input_context.num_input_pipelines if input_context else 1
        files = self.files(split)
        if workers > 1 and len(files) >= workers:  # FileData shards the sorted files: every N-th
            mine = files[input_context.input_pipeline_id::workers]
            log.info("%s.%s: worker %d of %d reads %d of %d files: %s", self.key, split,
                     input_context.input_pipeline_id, workers, len(mine), len(files), ", ".join(mine))
        return super().records(split, training=training, seed=seed, input_context=input_context, pipeline=pipeline)

    def parse(self, batch):
        import tensorflow as tf

        values = parse_batch(batch, self.types)
        inputs = [tf.cast(values[name], tf.float32) for name in self.inputs]
        single = len(inputs) == 1 and self.types[self.inputs[0]].shape
        x = inputs[0] if single else tf.concat([tf.reshape(v, [tf.shape(v)[0], -1]) for v in inputs], axis=1)
        y = values[self.label]
        if self.spec.task == "multiclass":
            return x, tf.cast(check_labels(y, self.label, self.spec.num_outputs), tf.int32)
        return x, tf.cast(y, tf.float32)

    def check(self, split: str) -> None:
        """Parse the split's first record now, so that a wrong feature type or an empty
        split fails before training, naming the file."""
        import tensorflow as tf

        from tfexp.data.errors import read_error

        for file in self.files(split):
            for records in self.read(tf.constant(file)).take(1).batch(1):
                try:
                    self.parse(records)
                    return
                except tf.errors.OpError as exc:
                    raise ConfigError(f"{read_error(exc) or f'bad data: {str(exc).splitlines()[0]}'} (in {file})") from None
        raise ConfigError(f"{self.key}.{split}: the {split} split is empty: {', '.join(self.files(split))} hold no record")

    def identity(self) -> dict[str, Any]:
        return {**super().identity(), "features": {name: str(t) for name, t in self.types.items()}, "label": self.label}


def input_shape(types: Mapping[str, FeatureType], inputs: Sequence[str], key: str = "data.features") -> tuple[int, ...]:
    """The shape of one example's inputs: the one input's, or the concatenation's."""
    if not inputs:
        raise ConfigError(f"{key} declares no input feature besides the label: add one, e.g. {key}.x='float32[64]'")
    for name in inputs:
        if types[name].dtype == "string":
            raise ConfigError(f"{key}.{name}=string: a TFRecord source reads numbers; string features need a source that decodes them (images)")
    if len(inputs) == 1:
        return types[inputs[0]].shape or (1,)
    deep = [name for name in inputs if len(types[name].shape) > 1]
    if deep:
        raise ConfigError(f"{key}: several inputs are concatenated, so each must have at most one dimension; {deep[0]} is {types[deep[0]]}")
    return (sum(types[name].size for name in inputs),)
