"""Training throughput of a distillation step relative to plain student training.

    python benchmarks/distill_throughput.py [--epochs 3] [--repeats 7] [--batch-size 64] [--student-units 8]

Times ``fit`` on the preset's data and models (``+experiment=distill``: digits, a 512-512
MLP teacher, an 8-unit student) for three trainings: the student alone (plain
cross-entropy), the Distiller on cached teacher logits (the default), and the Distiller
running the teacher on every step (``technique.cache_teacher_logits=false``). The three
are timed in turn within each repeat, so load from other processes hits them alike; the
printed ratios to the plain student are medians over the repeats, from wall-clock time and
from this process's CPU time (steadier on a shared machine). The one-off cost of computing
the cached logits and writing them with their examples (a ``Dataset.cache`` file in a
temporary directory, as a run does under its output directory) is printed separately.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import time


def seconds_per_fit(model, train, epochs: int) -> tuple[float, float]:
    """(wall-clock, CPU) seconds of one ``fit``."""
    wall, cpu = time.perf_counter(), time.process_time()
    model.fit(train, epochs=epochs, verbose=0)
    return time.perf_counter() - wall, time.process_time() - cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--student-units", default="8", help="student hidden units, comma-separated (preset: 8)")
    args = parser.parse_args()

    import tempfile
    from pathlib import Path

    import keras
    from tfexp_distill import logits_cache
    from tfexp_distill.distiller import make_cached_distiller, make_distiller
    from tfexp_keras_models import build_mlp
    from tfexp_sklearn_data import load_digits

    from tfexp.testing import compose

    cfg = compose(["+experiment=distill", f"model.hidden_units=[{args.student_units}]"])
    keras.utils.set_random_seed(0)
    data = load_digits(cfg.data, seed=0)
    shape, classes, examples = data.spec.input_shape, data.spec.num_outputs, data.spec.size("train")
    teacher = build_mlp(cfg.technique.teacher_model, shape, classes)

    def student():
        return build_mlp(cfg.model, shape, classes)

    cache = Path(tempfile.mkdtemp(prefix="distill-throughput-"))
    start = time.perf_counter()
    cached = logits_cache.write_once(teacher, data.dataset("train", batch_size=args.batch_size), classes, cache / "train")
    cache_seconds = time.perf_counter() - start
    plain_train = data.dataset("train", batch_size=args.batch_size, training=True, seed=0)
    cached_train = logits_cache.examples(cached, batch_size=args.batch_size, shuffle_buffer=examples, seed=0)
    trainings = {
        "plain student": (student(), plain_train),
        "distill, cached teacher logits": (make_cached_distiller(student(), shape, classes, 4.0, 0.1), cached_train),
        "distill, teacher on every step": (make_distiller(student(), teacher, 4.0, 0.1), plain_train),
    }
    for model, train in trainings.values():
        model.compile(optimizer="adam", loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True), metrics=["accuracy"])
        model.fit(train, epochs=1, verbose=0)  # trace and warm up

    seconds = {name: [] for name in trainings}
    for _ in range(args.repeats):
        for name, (model, train) in trainings.items():
            seconds[name].append(seconds_per_fit(model, train, args.epochs))

    plain = seconds["plain student"]
    print(f"digits train split: {examples} examples, batch {args.batch_size}, {args.epochs} epochs per fit, {args.repeats} repeats")
    print(f"teacher {list(cfg.technique.teacher_model.hidden_units)} ({teacher.count_params()} params), student {list(cfg.model.hidden_units)}")
    print(f"{'training':32s} {'examples/s':>10s}  throughput vs plain student (median of repeats): wall-clock, CPU time")
    for name, times in seconds.items():
        rate = examples * args.epochs / statistics.median(wall for wall, _ in times)
        ratios = [statistics.median(p[i] / t[i] for p, t in zip(plain, times)) for i in (0, 1)]
        print(f"{name:32s} {rate:10.0f}  {ratios[0]:.2f}  {ratios[1]:.2f}")
    print(f"computing the cached teacher logits once and writing them with the examples: {cache_seconds:.2f} s")
    shutil.rmtree(cache)


if __name__ == "__main__":
    main()
