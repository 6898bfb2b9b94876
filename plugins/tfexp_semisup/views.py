"""Hide most training labels of a stream: a labeled view and an unlabeled view of the run's data.

An example keeps its label by a deterministic rule on the example itself (a seeded hash of
its input's bytes), so any source, arrays or files, any shard order and any worker agree
on it without indices. One streaming pass over the training split at the start (numbers
only: the ``k`` smallest hashes per class and the counts) fixes the per-class part of the
rule and the sizes of both views. Validation and test are left fully labeled.

The unlabeled view's targets are the hidden true labels: read by the diagnostics
(:class:`tfexp_semisup.pseudo_labels.PseudoLabelTally`) only; training code drops them.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from tfexp.data import Data, Pipeline
from tfexp.errors import TfexpError

BUCKETS = 2**62
"""Hash range: an example's hash is uniform in ``[0, BUCKETS)``."""
PARSE_BATCH = 256
"""Records decoded at once (vectorized) before the rule looks at single examples."""


def example_hash(x, seed: int):
    """A uniform int64 of one example's input bytes and the ``seed`` (a TF op)."""
    import tensorflow as tf

    return tf.strings.to_hash_bucket_fast(tf.strings.join([f"semisup:{seed}:", tf.io.serialize_tensor(x)]), BUCKETS)


@dataclass(frozen=True)
class LabelRule:
    """An example keeps its label when its hash is below ``cut`` (a ``labeled_fraction``
    of all examples, each class alike in expectation) or at most its class's ``floor``
    (the ``k``-th smallest hash of that class: at least ``k`` labels per class)."""

    seed: int
    cut: int
    floors: tuple[int, ...]

    def keep(self, x, y):
        import tensorflow as tf

        h = example_hash(x, self.seed)
        return (h < self.cut) | (h <= tf.gather(tf.constant(self.floors, tf.int64), tf.cast(y, tf.int32)))


def decoded_examples(data: Data, split: str, *, training: bool, seed, input_context, pipeline: Pipeline):
    """``data``'s records of ``split`` decoded in batches, then one ``(x, y)`` per element."""
    import tensorflow as tf

    records = data.records(split, training=training, seed=seed, input_context=input_context, pipeline=pipeline)
    examples = records.batch(PARSE_BATCH).map(
        lambda *batch: data.decode(batch if len(batch) > 1 else batch[0], raw=False),
        num_parallel_calls=tf.data.AUTOTUNE, deterministic=pipeline.deterministic,
    ).unbatch()
    known = int(records.cardinality())  # kept where known: Keras then knows an epoch's length
    return examples.apply(tf.data.experimental.assert_cardinality(known)) if known >= 0 else examples


class TrainView(Data):
    """``base`` with its train split narrowed to the examples ``rule`` labels (``labeled``)
    or to the others; validation and test pass through. Records are decoded examples, so
    shuffling and caching hold model inputs rather than raw records."""

    def __init__(self, base: Data, rule: LabelRule, labeled: bool, size: int):
        self.base, self.rule, self.labeled = base, rule, labeled
        self.spec = replace(base.spec, num_examples={**base.spec.num_examples, "train": size})
        self.source = f"{base.source} ({'labeled' if labeled else 'unlabeled'} part of train)"

    def records(self, split, *, training, seed, input_context, pipeline):
        ds = decoded_examples(self.base, split, training=training, seed=seed, input_context=input_context, pipeline=pipeline)
        return ds.filter(lambda x, y: self.rule.keep(x, y) == self.labeled) if split == "train" else ds

    def dataset(self, split, *, pipeline: Pipeline | None = None, **kwargs):
        """:meth:`Data.dataset`, with cache files of its own: the two views and their base
        must not read each other's cache."""
        if pipeline and pipeline.cache and pipeline.cache != "memory":
            pipeline = replace(pipeline, cache=f"{pipeline.cache}-{'labeled' if self.labeled else 'unlabeled'}")
        return super().dataset(split, pipeline=pipeline, **kwargs)

    def decode(self, batch, raw):
        x, y = batch
        prep = self.spec.preprocessing
        return (prep.invert(x) if raw and prep else x), y

    def shuffle_buffer(self, split, pipeline):
        return self.base.shuffle_buffer(split, pipeline)

    def identity(self) -> dict[str, Any]:
        return {**super().identity(), "base": self.base.identity(), "rule": repr(self.rule)}


@dataclass(frozen=True)
class LabelSplit:
    labeled: TrainView
    """The run's data: train is the labeled subset."""
    pool: TrainView
    """Train is the unlabeled pool; its targets are the hidden labels (diagnostics only)."""


def split_labeled(base: Data, seed: int, fraction: float, per_class: int | None = None, pipeline: Pipeline | None = None) -> LabelSplit:
    """The labeled and unlabeled views of ``base``: ``fraction`` of the training examples
    keep their labels, at least one per class; or exactly ``per_class`` per class."""
    if base.spec.task != "multiclass":
        raise TfexpError(f"technique semisup needs a multiclass dataset, this one is {base.spec.task}. Choose data=digits or data=synthetic.")
    k = per_class or 1
    cut = 0 if per_class else int(fraction * BUCKETS)
    smallest, below_cut, counts = census(base, seed, cut, k, pipeline or Pipeline())
    floors, labeled = [], 0
    for label, (hashes, below, count) in enumerate(zip(smallest, below_cut, counts)):
        keep = max(below, min(k, count))  # both parts are prefixes of the class's hashes in order
        if count and keep >= count:
            raise TfexpError(
                f"class {label} has {count} training examples, so keeping {keep} labeled leaves none unlabeled. "
                f"Lower technique.labels_per_class or technique.labeled_fraction."
            )
        floors.append(int(hashes[-1]) if len(hashes) else -1)
        labeled += keep
    rule = LabelRule(seed, cut, tuple(floors))
    total = int(counts.sum())
    return LabelSplit(TrainView(base, rule, True, labeled), TrainView(base, rule, False, total - labeled))


def census(base: Data, seed: int, cut: int, k: int, pipeline: Pipeline):
    """One streaming pass over the training split: per class the ``k`` smallest hashes, how
    many hashes fall below ``cut`` and how many examples it has (numbers only)."""
    classes = base.spec.num_outputs
    smallest = [np.empty(0, np.int64) for _ in range(classes)]
    below, counts = np.zeros(classes, int), np.zeros(classes, int)
    examples = decoded_examples(base, "train", training=False, seed=None, input_context=None, pipeline=pipeline)
    for h, y in examples.map(lambda x, y: (example_hash(x, seed), y)).batch(4096).as_numpy_iterator():
        y = y.astype(int)
        counts += np.bincount(y, minlength=classes)
        below += np.bincount(y[h < cut], minlength=classes)
        for label in np.unique(y):
            smallest[label] = np.sort(np.concatenate([smallest[label], h[y == label]]))[:k]
    if not counts.sum():
        raise TfexpError(f"the train split of data={base.source} is empty; check the files or the split fractions")
    return smallest, below, counts
