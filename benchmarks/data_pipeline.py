"""tfexp's TFRecord pipeline against a hand-tuned tf.data pipeline over the same files.

    python benchmarks/data_pipeline.py [--rows 60000] [--shards 8] [--rounds 5] [--epochs 3]

Writes ``--rows`` examples of 784 float32 features and an int64 label into ``--shards``
TFRecord files, then, in this one process and alternating within each round:

- ``raw``: one full pass over the train split, batch 128, for each pipeline: examples/s;
- ``fit``: ``model.fit`` of a 784-256-128-10 MLP for ``--epochs`` epochs fed by each
  pipeline: examples/s from the start of epoch 2 (epoch 1 traces and fills caches).

The hand-tuned pipeline is the tf.data guide's: shuffle the file list, parallel interleave
of ``TFRecordDataset``s, shuffle 10k records, batch, ``parse_example`` on the batch,
prefetch. tfexp's is ``data=tfrecord`` built through the registry, as a run builds it.
Printed: each round's ratio tfexp / hand-tuned, the median and range over rounds, the same
ratios per CPU-second of this process, and the load average (the machine is shared).
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np

BATCH = 128
FEATURES = 784


def write_shards(root: Path, rows: int, shards: int, seed: int = 0) -> str:
    """``rows`` random examples in ``shards`` files; returns their glob."""
    import tensorflow as tf

    rng = np.random.default_rng(seed)
    per_shard = rows // shards
    for shard in range(shards):
        x = rng.random((per_shard, FEATURES), dtype=np.float32)
        y = rng.integers(0, 10, per_shard)
        with tf.io.TFRecordWriter(str(root / f"train-{shard:03d}.tfrecord")) as writer:
            for features, label in zip(x, y):
                example = tf.train.Example(features=tf.train.Features(feature={
                    "x": tf.train.Feature(float_list=tf.train.FloatList(value=features)),
                    "y": tf.train.Feature(int64_list=tf.train.Int64List(value=[label])),
                }))
                writer.write(example.SerializeToString())
    return str(root / "train-*.tfrecord")


def hand_tuned(pattern: str, seed: int):
    import tensorflow as tf

    spec = {"x": tf.io.FixedLenFeature([FEATURES], tf.float32), "y": tf.io.FixedLenFeature([], tf.int64)}
    files = tf.data.Dataset.list_files(pattern, shuffle=True, seed=seed)
    ds = files.interleave(tf.data.TFRecordDataset, cycle_length=tf.data.AUTOTUNE, num_parallel_calls=tf.data.AUTOTUNE)
    ds = ds.shuffle(10_000, seed=seed).batch(BATCH)
    ds = ds.map(lambda records: (lambda p: (p["x"], p["y"]))(tf.io.parse_example(records, spec)), num_parallel_calls=tf.data.AUTOTUNE)
    return ds.prefetch(tf.data.AUTOTUNE)


def tfexp_pipeline(pattern: str, seed: int):
    """The train split of ``data=tfrecord`` over the same files, built as a run builds it."""
    from tfexp.plugins import get_plugin_manager, get_registry
    from tfexp.run import Run
    from tfexp.testing import compose

    cfg = compose([
        "data=tfrecord", f"data.train='{pattern}'", f"data.val='{pattern}'", f"data.test='{pattern}'",
        f"data.features.x=float32[{FEATURES}]", "data.label=y", "data.num_classes=10",
        f"trainer.batch_size={BATCH}", f"seed={seed}",
    ])
    pm = get_plugin_manager()
    registry = get_registry(pm)
    run = Run(cfg=cfg, output_dir=Path(tempfile.mkdtemp()), plugin_manager=pm, registry=registry)
    run.data = registry.get("data", "tfrecord").load(cfg.data, seed)
    return run.dataset("train", training=True)


def timed_pass(dataset) -> tuple[float, float, int]:
    """(wall s, CPU s, examples) of one full pass."""
    wall, cpu, n = time.perf_counter(), time.process_time(), 0
    for x, _ in dataset:
        n += int(x.shape[0])
    return time.perf_counter() - wall, time.process_time() - cpu, n


def timed_fit(dataset, epochs: int, per_epoch: int) -> tuple[float, float, int]:
    """(wall s, CPU s, examples) of ``fit`` from the start of epoch 2 to the end."""
    import keras

    class Clock(keras.callbacks.Callback):
        def on_epoch_begin(self, epoch, logs=None):
            if epoch == 1:
                self.wall, self.cpu = time.perf_counter(), time.process_time()

    keras.backend.clear_session()
    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((FEATURES,)), keras.layers.Dense(256, "relu"), keras.layers.Dense(128, "relu"), keras.layers.Dense(10)])
    model.compile("adam", keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    clock = Clock()
    model.fit(dataset, epochs=epochs, callbacks=[clock], verbose=0, shuffle=False)
    return time.perf_counter() - clock.wall, time.process_time() - clock.cpu, per_epoch * (epochs - 1)


def summarize(name: str, ratios: list[float]) -> str:
    return f"ratio {name}: median {statistics.median(ratios):.3f} (range {min(ratios):.3f}-{max(ratios):.3f}, {len(ratios)} rounds)"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=60_000)
    parser.add_argument("--shards", type=int, default=8)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--epochs", type=int, default=3)
    args = parser.parse_args()
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    with tempfile.TemporaryDirectory() as root:
        pattern = write_shards(Path(root), args.rows, args.shards)
        pipelines = {"hand_tuned": lambda r: hand_tuned(pattern, r), "tfexp": lambda r: tfexp_pipeline(pattern, r)}
        results: dict[tuple[str, str], list[tuple[float, float]]] = {}
        for r in range(args.rounds):
            order = list(pipelines) if r % 2 == 0 else list(reversed(pipelines))
            per_epoch = args.rows // args.shards * args.shards
            for kind, measure in (("raw", timed_pass), ("fit", lambda ds: timed_fit(ds, args.epochs, per_epoch))):
                for name in order:
                    wall, cpu, n = measure(pipelines[name](r))
                    results.setdefault((kind, name), []).append((n / wall, n / cpu))
                    print(f"round {r + 1} {kind:3s} {name:10s} {n / wall:9.0f} examples/s  {n / cpu:9.0f} examples/CPU-s", flush=True)
        print(f"load average (1, 5, 15 min): {os.getloadavg()}")
        for kind in ("raw", "fit"):
            ours, theirs = results[(kind, "tfexp")], results[(kind, "hand_tuned")]
            print(summarize(f"{kind} wall", [a[0] / b[0] for a, b in zip(ours, theirs)]))
            print(summarize(f"{kind} cpu", [a[1] / b[1] for a, b in zip(ours, theirs)]))


if __name__ == "__main__":
    main()
