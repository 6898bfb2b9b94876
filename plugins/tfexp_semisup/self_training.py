"""``method=pseudo_label``: train on the labels, adopt confident predictions, retrain, repeat.

Each round is one streaming pass over the unlabeled pool with the current model (earlier
mistakes can be undone): the accepted ``(input, pseudo-label)`` pairs are written to a
TFRecord file under the run's output directory (``semisup/pseudo-labels.tfrecord``, one
record per batch, overwritten each round and deleted at the end), and training continues
for ``trainer.epochs`` epochs on the labeled stream mixed with that file. Memory holds
batches and shuffle buffers only; the file holds at most the pool's inputs.
"""

from __future__ import annotations

from pathlib import Path

from tfexp_semisup.fitting import fit_stage
from tfexp_semisup.pseudo_labels import (
    INFERENCE_BATCH, PseudoLabelTally, curriculum_thresholds, probabilities, validated_thresholds,
)


def label_pool(model, batches, tally: PseudoLabelTally, path: Path) -> int:
    """Write the confident pseudo-labels of ``batches`` of ``(x, hidden_y)`` to ``path``
    (the hidden labels go to the ``tally`` only); how many were accepted."""
    import tensorflow as tf

    accepted_total = 0
    path.parent.mkdir(parents=True, exist_ok=True)
    with tf.io.TFRecordWriter(str(path)) as writer:
        for x, hidden_y in batches:
            labels, accepted = tally.add(probabilities(model, x), hidden_y)
            if accepted.any():
                features = {"x": x.numpy()[accepted], "y": labels[accepted].astype("int64")}
                writer.write(tf.train.Example(features=tf.train.Features(feature={
                    key: tf.train.Feature(bytes_list=tf.train.BytesList(value=[tf.io.serialize_tensor(value).numpy()]))
                    for key, value in features.items()
                })).SerializeToString())
                accepted_total += int(accepted.sum())
    return accepted_total


def read_pseudo_labels(path: Path, element_spec):
    """The examples :func:`label_pool` wrote, one ``(x, y)`` per element, typed like
    ``element_spec`` (the labeled examples they are mixed with)."""
    import tensorflow as tf

    x_spec, y_spec = element_spec
    features = {"x": tf.io.FixedLenFeature([], tf.string), "y": tf.io.FixedLenFeature([], tf.string)}

    def parse(record):
        batch = tf.io.parse_single_example(record, features)
        x = tf.ensure_shape(tf.io.parse_tensor(batch["x"], x_spec.dtype), [None, *x_spec.shape])
        y = tf.ensure_shape(tf.io.parse_tensor(batch["y"], tf.int64), [None, *y_spec.shape])
        return x, tf.cast(y, y_spec.dtype)

    return tf.data.TFRecordDataset(str(path)).map(parse).unbatch()


def round_training_set(run, labeled_data, path: Path, accepted: int):
    """Batches of ``labeled_data``'s train split and the accepted pseudo-labels, drawn in
    proportion to their sizes (both are exhausted by the end of an epoch)."""
    import tensorflow as tf

    labeled = run.dataset("train", training=True, data=labeled_data).unbatch()
    if not accepted:
        return labeled.batch(run.cfg.trainer.batch_size)
    pseudo = read_pseudo_labels(path, labeled.element_spec).shuffle(run.pipeline.shuffle_buffer, seed=run.cfg.seed)
    sizes = [labeled_data.spec.size("train"), accepted]
    mixed = tf.data.Dataset.sample_from_datasets(
        [labeled, pseudo], weights=[n / sum(sizes) for n in sizes], seed=run.cfg.seed, rerandomize_each_iteration=True
    )
    # Both streams run out together: an epoch is their sum (what trainer.steps counts).
    mixed = mixed.apply(tf.data.experimental.assert_cardinality(sum(sizes)))
    return mixed.batch(run.cfg.trainer.batch_size).prefetch(tf.data.AUTOTUNE)


def train_pseudo_label(run, model, labeled, pool, callbacks, cfg) -> None:
    path = run.output_dir / "semisup" / "pseudo-labels.tfrecord"
    # Each round is a stage: a resumed run skips the rounds it finished (relabeling the pool
    # with their final weights) and continues the one it was in. Round r's epochs start at
    # r x round 0's: with trainer.steps later rounds (more data) take fewer, never more.
    first = run.dataset("train", training=True, data=labeled)
    stride = run.stage_epochs(first)
    fit_stage(run, model, first, callbacks, stage="round-0")
    for round_ in range(1, cfg.rounds + 1):
        batches = run.dataset("train", data=pool, batch_size=INFERENCE_BATCH)
        threshold = cfg.threshold
        if cfg.curriculum is not None:  # round r of R accepts the top curriculum * r / R of each class
            threshold = curriculum_thresholds(model, batches, cfg.curriculum * round_ / cfg.rounds, labeled.spec.num_outputs)
        if cfg.precision is not None:
            threshold = validated_thresholds(model, run.dataset("val", data=labeled), cfg.precision, threshold, labeled.spec.num_outputs)
        tally = PseudoLabelTally(threshold, labeled.spec.class_names)
        accepted = label_pool(model, batches, tally, path)
        run.log_metrics({f"pseudo/{k}": v for k, v in tally.stats().items()}, step=round_)
        train = round_training_set(run, labeled, path, accepted)
        fit_stage(run, model, train, callbacks, stage=f"round-{round_}", initial_epoch=round_ * stride)
    path.unlink(missing_ok=True)
