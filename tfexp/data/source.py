"""A data set is a source of tf.data pipelines: the contract every data plugin meets.

A source yields one split's *records* (unbatched, this input pipeline's share only) and
decodes a whole *batch* of them at once (vectorized parsing); :meth:`Data.dataset` puts
the policy around them: cache, shuffle, batch, decode, preprocess, prefetch. In-memory
arrays (:class:`tfexp.data.ArrayData`) are one small source among the file sources.
"""

from __future__ import annotations

import abc
import hashlib
import json
from typing import TYPE_CHECKING, Any

import numpy as np

from tfexp.data.pipeline import Pipeline
from tfexp.data.spec import SPLITS, DataSpec

if TYPE_CHECKING:
    import tensorflow as tf


class Data(abc.ABC):
    """What ``DatasetSpec.load(data_cfg, seed)`` returns."""

    spec: DataSpec
    source: str = "memory"
    """Where the examples come from (a glob, a directory, a TFDS name): shown to the user."""

    @abc.abstractmethod
    def records(self, split: str, *, training: bool, seed: int | None, input_context: Any, pipeline: Pipeline) -> tf.data.Dataset:
        """One split's records, unbatched; with an ``input_context``, only this pipeline's share."""

    def parse(self, batch: Any) -> tuple[Any, Any]:
        """A batch of records -> ``(raw inputs, targets)``, vectorized (one op per batch)."""
        return batch

    def decode(self, batch: Any, raw: bool) -> tuple[Any, Any]:
        """:meth:`parse`, then the ``preprocessing`` unless ``raw``."""
        x, y = self.parse(batch)
        prep = self.spec.preprocessing
        return (x if raw or prep is None else prep.apply(x)), y

    def shuffle_buffer(self, split: str, pipeline: Pipeline) -> int:
        return pipeline.shuffle_buffer

    def dataset(
        self,
        split: str,
        *,
        batch_size: int,
        training: bool = False,
        seed: int | None = None,
        input_context: tf.distribute.InputContext | None = None,
        pipeline: Pipeline | None = None,
        drop_remainder: bool = False,
        raw: bool = False,
    ) -> tf.data.Dataset:
        """Batches of ``(inputs, targets)`` of one split; ``batch_size`` is global (divided
        over the replicas of ``input_context``); ``raw`` skips the preprocessing."""
        import tensorflow as tf

        if split not in SPLITS:
            raise ValueError(f"unknown split {split!r}; splits are {', '.join(SPLITS)}")
        pipeline = pipeline or Pipeline()
        ds = self.records(split, training=training, seed=seed, input_context=input_context, pipeline=pipeline)
        if input_context is None and (size := self.spec.size(split)) is not None:
            # A stream of files says its length: Keras knows an epoch's end from the first
            # (progress bar, no "ran out of data"), and trainer.steps can count it. A worker's
            # shard is a part of unknown size.
            ds = ds.apply(tf.data.experimental.assert_cardinality(size))
        if pipeline.cache:
            shard = f"-{input_context.input_pipeline_id}" if input_context else ""
            ds = ds.cache("" if pipeline.cache == "memory" else f"{pipeline.cache}-{split}{shard}")
        if training:
            ds = ds.shuffle(self.shuffle_buffer(split, pipeline), seed=seed, reshuffle_each_iteration=True)
        if input_context:
            batch_size = input_context.get_per_replica_batch_size(batch_size)
        ds = ds.batch(batch_size, drop_remainder=drop_remainder)
        ds = ds.map(self.decoder(raw), num_parallel_calls=tf.data.AUTOTUNE, deterministic=pipeline.deterministic)
        return ds.prefetch(pipeline.prefetch or tf.data.AUTOTUNE)

    def decoder(self, raw: bool):
        """:meth:`decode` as a ``Dataset.map`` function (records are tensors or tuples)."""
        return lambda *batch: self.decode(batch if len(batch) > 1 else batch[0], raw)

    def explain(self, error: BaseException) -> Exception | None:
        """The one-line error a bad record deep in a pipeline stands for (None: not one);
        file sources add the file it is in."""
        from tfexp.data.errors import read_error

        return read_error(error)

    def sample(self, split: str, n: int, *, raw: bool = False, seed: int | None = None) -> np.ndarray:
        """Up to ``n`` inputs of a split (signatures, calibration, checks): its first ones,
        or with a ``seed`` a shuffled draw from the shuffle buffer."""
        shuffled = seed is not None
        for x, _ in self.dataset(split, batch_size=n, raw=raw, training=shuffled, seed=seed).take(1):
            return x.numpy()
        raise ValueError(f"the {split} split is empty")

    def fingerprint(self) -> str:
        """A short digest that changes when the data changes, without iterating it."""
        return hashlib.sha256(json.dumps(self.identity(), sort_keys=True, default=str).encode()).hexdigest()[:16]

    def identity(self) -> dict[str, Any]:
        """What :meth:`fingerprint` hashes: the spec, plus what a source adds (file names,
        sizes and times)."""
        return {"spec": repr(self.spec), "source": self.source}
