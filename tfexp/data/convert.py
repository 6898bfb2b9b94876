"""Writing any data set as sharded TFRecords plus a ``schema.json`` (``python -m tfexp.data
convert``): one streaming pass per split, raw inputs, the preprocessing kept in the schema."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Iterable, Iterator, Mapping, Sequence

import numpy as np

from tfexp.data.source import Data
from tfexp.data.spec import SPLITS
from tfexp.data.tfrecord import GZIP_SUFFIX, FeatureType, compression_of
from tfexp.data.tfrecord_schema import Schema

log = logging.getLogger("tfexp.data")

INPUT, LABEL = "x", "y"


def convert(data: Data, out: Path, *, shards: int = 1, compression: str | None = None, batch_size: int = 1024, source: str = "") -> Schema:
    """Writes ``out/<split>-<i>-of-<n>.tfrecord[.gz]`` and ``out/schema.json``; returns the schema."""
    out.mkdir(parents=True, exist_ok=True)
    spec = data.spec
    suffix = ".tfrecord" + (GZIP_SUFFIX if compression == "GZIP" else "")
    types: dict[str, FeatureType] = {}
    splits = {}
    for split in SPLITS:
        names = [f"{split}-{i:05d}-of-{shards:05d}{suffix}" for i in range(shards)]
        batches = data.dataset(split, batch_size=batch_size, raw=True).as_numpy_iterator()
        count = write_shards(_records(batches, types), [str(out / n) for n in names], compression)
        splits[split] = {"count": count, "files": names}
        log.info("%s: %d records in %d file(s)", split, count, shards)
    schema = Schema(
        features={name: str(t) for name, t in types.items()}, label=LABEL, task=spec.task,
        num_classes=spec.num_outputs if spec.task == "multiclass" else None, class_names=list(spec.class_names),
        input_shape=list(spec.input_shape), preprocessing=Schema.affine_json(spec.preprocessing),
        compression=compression, splits=splits, source=source,
    )
    schema.write(out / "schema.json")
    return schema


def _records(batches: Iterable, types: dict[str, FeatureType]) -> Iterator[bytes]:
    """Serialized Examples of ``(x, y)`` batches; ``types`` is filled from the first batch."""
    for x, y in batches:
        columns = {INPUT: x, LABEL: y}
        for name, values in columns.items():
            types.setdefault(name, FeatureType.of(values))
        yield from serialize(columns, types)


def serialize(columns: Mapping[str, np.ndarray], types: Mapping[str, FeatureType]) -> Iterator[bytes]:
    """Each row of a batch of columns as a serialized ``tf.train.Example``."""
    import tensorflow as tf

    def feature(value, ftype: FeatureType):
        flat = np.asarray(value).reshape(-1)
        if ftype.dtype == "float32":
            return tf.train.Feature(float_list=tf.train.FloatList(value=flat.astype("float32")))
        if ftype.dtype == "int64":
            return tf.train.Feature(int64_list=tf.train.Int64List(value=flat.astype("int64")))
        return tf.train.Feature(bytes_list=tf.train.BytesList(value=[bytes(v) for v in flat]))

    rows = len(next(iter(columns.values())))
    for i in range(rows):
        example = tf.train.Example(features=tf.train.Features(
            feature={name: feature(values[i], types[name]) for name, values in columns.items()}
        ))
        yield example.SerializeToString()


def write_shards(records: Iterable[bytes], paths: Sequence[str], compression: str | None) -> int:
    """Deals ``records`` round-robin over the files ``paths`` (balanced shards, one pass);
    returns how many were written."""
    import tensorflow as tf

    options = tf.io.TFRecordOptions(compression_type=compression_of(paths[0], compression))
    writers = [tf.io.TFRecordWriter(p, options) for p in paths]
    count = 0
    try:
        for count, record in enumerate(records, 1):
            writers[(count - 1) % len(writers)].write(record)
    finally:
        for w in writers:
            w.close()
    return count
