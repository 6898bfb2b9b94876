"""FixMatch on generated 1D signals: the data set, and where its pseudo-labels go wrong.

``write DIR``: four classes of noisy waveforms (sine, square, sawtooth, triangle; random
frequency, phase and amplitude, 32 samples) as CSV files for ``data=csv``.
``diagnose DIR``: tfexp's FixMatch model, losses and augmenters trained in this process on the
data in ``DIR`` (no tracking: a loaded 2-core machine cannot afford full runs), per variant
and seed, with the pool's pseudo-labels checked every 40 steps against the hidden labels.
experiments/semisup.md ("FixMatch on 1D signals") has the commands and what they showed.
"""

from __future__ import annotations

import argparse
import csv
from pathlib import Path

import numpy as np

LENGTH, CLASSES = 32, ("sine", "square", "sawtooth", "triangle")
SIZES = {"train": 1200, "val": 300, "test": 400}


def waveforms(n: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """``n`` signals and their class: 1-2 cycles per window, amplitude 0.5-1.5, noise 0.2."""
    labels = rng.integers(0, len(CLASSES), n)
    t = np.arange(LENGTH) / LENGTH
    phase = rng.uniform(0, 1, (n, 1)) + rng.uniform(1, 2, (n, 1)) * t  # in cycles
    frac = phase % 1.0
    shapes = np.stack([np.sin(2 * np.pi * phase), np.sign(np.sin(2 * np.pi * phase)), 2 * frac - 1, 4 * np.abs(frac - 0.5) - 1])
    x = shapes[labels, np.arange(n)] * rng.uniform(0.5, 1.5, (n, 1)) + rng.normal(0, 0.2, (n, LENGTH))
    return x.astype("float32"), labels


def write(directory: Path, seed: int = 0) -> None:
    rng = np.random.default_rng(seed)
    directory.mkdir(parents=True, exist_ok=True)
    for split, n in SIZES.items():
        x, y = waveforms(n, rng)
        with open(directory / f"{split}.csv", "w", newline="") as f:
            writer = csv.writer(f)
            writer.writerow([*(f"x{i}" for i in range(LENGTH)), "y"])
            writer.writerows([*map(float, row), int(label)] for row, label in zip(x, y))
    print(f"data=csv data.train={directory}/train.csv data.val={directory}/val.csv data.test={directory}/test.csv "
          f"data.label=y data.num_classes={len(CLASSES)} 'data.class_names=[{','.join(CLASSES)}]'")


SEQUENCE = dict(kind="sequence", weak_shift=0.125, strong_shift=0.5, strong_zoom=0.3, feature_drop=0.25)
"""Circular shifts of up to 4 (weak) / 16 (strong) of the 32 samples, amplitude 1 +- 0.3, an 8-sample window zeroed."""

NO_ALIGNMENT = dict(distribution_alignment=False)
VARIANTS = {
    "labeled only (lambda_u=0)": dict(lambda_u=0.0, **NO_ALIGNMENT),
    "no augmentation": dict(augment=dict(weak_noise=0, strong_noise=0, feature_swap=0), **NO_ALIGNMENT),
    "preset + label smoothing 0.2": dict(label_smoothing=0.2, **NO_ALIGNMENT),
    "sequence views": dict(augment=SEQUENCE, **NO_ALIGNMENT),
    "sequence views, lambda_u=0": dict(augment=SEQUENCE, lambda_u=0.0, **NO_ALIGNMENT),
    "tabular views (swap 30%, noise)": dict(**NO_ALIGNMENT),
    "tabular views + alignment": dict(),
    "sequence views + alignment": dict(augment=SEQUENCE),
}
"""Variants over the preset (tfexp/conf/technique/semisup.yaml, whose views for these flat rows
are the tabular ones): ``augment`` keys, ``lambda_u``, ``distribution_alignment``, and
``label_smoothing`` of the labeled term."""


def diagnose(directory: Path, seeds=(1, 2, 3), steps: int = 240, every: int = 40, labeled_fraction: float = 0.1, only: str = "") -> None:
    import keras
    import tensorflow as tf
    from omegaconf import OmegaConf
    from tfexp_semisup.augment import augmenters
    from tfexp_semisup.fixmatch import DistributionAlignment, FixMatch
    from tfexp_semisup.pseudo_labels import pool_stats

    from tfexp.calibration import expected_calibration_error
    from tfexp.losses import SmoothedSparseCrossentropy

    def load(split):
        table = np.loadtxt(directory / f"{split}.csv", delimiter=",", skiprows=1, dtype="float32")
        return table[:, :-1], table[:, -1].astype("int64")

    (x, y), (x_val, y_val), (x_test, y_test) = load("train"), load("val"), load("test")
    preset = OmegaConf.load(Path(__file__).parents[1] / "tfexp/conf/technique/semisup.yaml")
    for seed in seeds:
        for name, variant in VARIANTS.items():
            if only and not any(part in name for part in only.split(",")):
                continue
            keras.utils.set_random_seed(seed)
            rng = np.random.default_rng(seed)
            labeled = rng.random(len(y)) < labeled_fraction
            model = keras.Sequential([keras.Input((x.shape[1],)), keras.layers.Dense(256, activation="relu"), keras.layers.Dropout(0.1),
                                      keras.layers.Dense(128, activation="relu"), keras.layers.Dropout(0.1), keras.layers.Dense(len(CLASSES))])
            weak, strong = augmenters((x.shape[1],), OmegaConf.merge(preset.augment, variant.get("augment", {})))
            smoothing = SmoothedSparseCrossentropy(len(CLASSES), label_smoothing=variant.get("label_smoothing", 0.0))
            align = DistributionAlignment(len(CLASSES)) if variant.get("distribution_alignment", preset.distribution_alignment) else None
            trainer = FixMatch(model, weak, strong, preset.threshold, variant.get("lambda_u", preset.lambda_u), labeled_loss=smoothing, align=align)
            trainer.compile(optimizer=keras.optimizers.Adam(1e-3))
            batch = 32
            train = tf.data.Dataset.zip((
                tf.data.Dataset.from_tensor_slices((x[labeled], y[labeled])).shuffle(1000, seed=seed).repeat().batch(batch),
                tf.data.Dataset.from_tensor_slices(x[~labeled]).shuffle(2000, seed=seed).repeat().batch(preset.mu * batch),
            ))
            pool = tf.data.Dataset.from_tensor_slices((x[~labeled], y[~labeled])).batch(256)
            curve = []
            for _ in range(steps // every):
                trainer.fit(train, epochs=1, steps_per_epoch=every, verbose=0)
                stats = pool_stats(model, pool, preset.threshold, CLASSES, align)
                curve.append((stats.get("accuracy", float("nan")), stats["mask_rate"], stats["pool_accuracy"]))
            probs = keras.ops.convert_to_numpy(keras.ops.softmax(model(x_val, training=False)))
            test_accuracy = float((model(x_test, training=False).numpy().argmax(-1) == y_test).mean())
            counts = [int(stats[f"count_{c}"]) for c in CLASSES]
            print(f"{name:28s} seed {seed}  test {test_accuracy:.3f}  val ECE {expected_calibration_error(probs, y_val):.3f}  "
                  f"accepted per class {counts}\n    accepted acc / mask / pool acc every {every} steps: "
                  + "  ".join(f"{a:.2f}/{m:.2f}/{p:.2f}" for a, m, p in curve), flush=True)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("command", choices=("write", "diagnose"))
    parser.add_argument("directory", type=Path)
    parser.add_argument("--only", default="", help="diagnose: the variants whose name contains one of these (comma-separated)")
    parser.add_argument("--seeds", default="1,2,3")
    args = parser.parse_args()
    if args.command == "write":
        write(args.directory)
    else:
        diagnose(args.directory, seeds=tuple(int(s) for s in args.seeds.split(",")), only=args.only)
