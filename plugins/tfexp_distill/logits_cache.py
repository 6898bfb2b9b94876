"""Cached teacher logits on disk, stored *with* their examples.

One streaming pass runs the teacher on each batch of a split and writes
``({"inputs": x, "teacher_logits": logits}, y)`` examples to a tf.data snapshot
(``Dataset.save``); training then streams that snapshot. Each example carries its own
logits, so nothing depends on the source's order, shuffling or sharding, and no split is
ever held in memory.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from tfexp_distill.distiller import INPUTS, TEACHER_LOGITS


def write(teacher, batches, num_classes: int, path: Path) -> None:
    """Save every example of ``batches`` (``(x, y)`` batches) with ``teacher(x)`` at ``path``.

    One shard file, so reading it back gives the examples in the order they were read:
    a cached run shuffles exactly like an uncached one on the same source."""
    import numpy as np
    import tensorflow as tf

    def examples():
        for x, y in batches:
            yield {INPUTS: x.numpy(), TEACHER_LOGITS: np.asarray(teacher(x, training=False), "float32")}, y.numpy()

    x_spec, y_spec = batches.element_spec
    signature = ({INPUTS: x_spec, TEACHER_LOGITS: tf.TensorSpec((None, num_classes), tf.float32)}, y_spec)
    shutil.rmtree(path, ignore_errors=True)
    examples = tf.data.Dataset.from_generator(examples, output_signature=signature).unbatch()
    examples.save(str(path), shard_func=lambda *_: tf.constant(0, tf.int64))


def read(path: Path, *, batch_size: int, shuffle_buffer: int = 0, seed: int | None = None, prefetch: int | None = None):
    """The examples saved at ``path`` as batches for the cached Distiller; shuffled through a
    ``shuffle_buffer`` of examples (reshuffled each epoch) when it is > 0."""
    import tensorflow as tf

    ds = tf.data.Dataset.load(str(path))
    if shuffle_buffer:
        ds = ds.shuffle(shuffle_buffer, seed=seed, reshuffle_each_iteration=True)
    return ds.batch(batch_size).prefetch(prefetch or tf.data.AUTOTUNE)
