"""What tfexp's tracking costs in training throughput, and in start-up time.

    python benchmarks/overhead.py [--rounds 7] [--epochs 4] [--samples 30000] [--variants ...]

Trains the same MLP on the same synthetic data, in this one process, as:

- ``bare``: ``model.fit`` with no callbacks but a timer;
- ``epoch_metrics``: a full tfexp run (MLflow + TensorBoard, metrics per epoch, MLflow's
  system metrics sampled every 10 s: the defaults);
- ``no_system_metrics``: the same with ``tracking.mlflow.system_metrics=false``;
- ``system_metrics_1s``: the same sampling system metrics every second (10 times the default);
- ``step_metrics``: the same with ``tracking.log_every_n_steps=1`` (every step logged);
- ``deterministic``: ``epoch_metrics`` with ``strategy.deterministic=true`` (its cost);
- ``mixed_bfloat16``: ``epoch_metrics`` with ``strategy.precision=mixed_bfloat16``.

Throughput is training samples/s from the start of epoch 2 to the end of training (the
first epoch traces and warms up; validation runs in every epoch of every variant); the
tracking work of every timed epoch falls inside that interval. Tracked runs keep
``trainer.checkpoint_every=0`` (checkpoints are not tracking) and skip model export.
Variants alternate within each round (rotated order), and each round's ratio to its own
``bare`` run is taken (with the load average when it ran); the medians over rounds are printed as
``ratio <name>: <tfexp throughput / bare throughput>``. The same ratios per CPU-second
of this process (``time.process_time``, all its threads) follow: on a shared machine other
processes' load disturbs them less than wall time. Last, the tracking cost measured inside
the runs, which load hardly disturbs: the share of the timed interval the training thread
spends in Keras' callback dispatch (tfexp's callbacks, log conversion) and the CPU time of
background threads (MLflow's metric writer and system-metrics monitor, TensorBoard's event
writer), beyond bare fit's.

Then start-up: ``python -m tfexp --cfg job`` against a minimal Hydra app (same Hydra, one
tiny config), alternated, median wall time of each.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import textwrap
import threading
import time
from pathlib import Path
from types import SimpleNamespace

import keras

from tfexp import hookimpl

TRACKED = {
    "epoch_metrics": [],
    "no_system_metrics": ["tracking.mlflow.system_metrics=false"],
    "system_metrics_1s": ["tracking.mlflow.system_metrics_interval_s=1"],
    "step_metrics": ["tracking.log_every_n_steps=1"],
    "deterministic": ["strategy.deterministic=true"],
    "mixed_bfloat16": ["strategy.precision=mixed_bfloat16"],
}


def background_cpu() -> dict[int, float]:
    """CPU seconds so far of every Python thread but this one (MLflow's metric writer,
    TensorBoard's event writer, Keras' callback executor)."""
    seconds = {}
    for thread in threading.enumerate():
        if thread is not threading.current_thread() and thread.ident is not None:
            try:
                seconds[thread.ident] = time.clock_gettime(time.pthread_getcpuclockid(thread.ident))
            except OSError:  # the thread just ended
                pass
    return seconds


class EpochTimer(keras.callbacks.Callback):
    """From the start of the second epoch to the end of training (every timed epoch's
    callbacks run inside, wherever the timer sits): wall time, this process's CPU time, the
    background threads' CPU time, and the time Keras spends dispatching batch and epoch
    callbacks on the training thread (log conversion and every callback's own work)."""

    active = None
    """The timer of the fit in progress (one at a time in this process)."""

    def __init__(self):
        super().__init__()
        self.dispatch_seconds = 0.0
        EpochTimer.active = self

    def on_epoch_begin(self, epoch, logs=None):
        if epoch == 1:
            self.start = (time.perf_counter(), time.process_time(), background_cpu())
            self.dispatch_seconds = 0.0

    def on_train_end(self, logs=None):
        self.seconds = time.perf_counter() - self.start[0]
        self.cpu_seconds = time.process_time() - self.start[1]
        before = self.start[2]
        self.background_seconds = sum(cpu - before.get(ident, 0.0) for ident, cpu in background_cpu().items())
        EpochTimer.active = None


def time_callback_dispatch() -> None:
    """Wrap ``keras.callbacks.CallbackList``'s per-batch and per-epoch methods so that their
    time counts into the active timer (instrumentation for this benchmark only)."""
    for name in ("on_train_batch_begin", "on_train_batch_end", "on_epoch_begin", "on_epoch_end"):
        method = getattr(keras.callbacks.CallbackList, name)

        def timed(self, *args, _method=method, **kwargs):
            start = time.perf_counter()
            try:
                return _method(self, *args, **kwargs)
            finally:
                if EpochTimer.active is not None:
                    EpochTimer.active.dispatch_seconds += time.perf_counter() - start

        setattr(keras.callbacks.CallbackList, name, timed)


class TimerPlugin:
    """Adds a fresh timer to each tfexp run."""

    @hookimpl
    def tfexp_before_fit(self, run, model):
        self.timer = EpochTimer()
        return [self.timer]


def config(args, overrides=()):
    from tfexp.testing import compose

    return compose([
        "data=synthetic", f"data.n_samples={args.samples}", "data.n_features=784", "data.n_informative=64", "data.n_classes=10",
        "model=mlp", "model.hidden_units=[256,128]", f"trainer.epochs={args.epochs}", f"trainer.batch_size={args.batch_size}",
        "trainer.verbose=0", "trainer.checkpoint_every=0", "tracking.log_model=false", "export.formats=[]", "seed=0", *overrides,
    ])


def train_samples(args) -> int:
    from tfexp_sklearn_data import load_synthetic

    return load_synthetic(config(args).data, 0).spec.size("train")


def bare_fit(args) -> EpochTimer:
    from tfexp_keras_models import build_mlp
    from tfexp_sklearn_data import load_synthetic

    from tfexp.defaults import compile_kwargs_for

    cfg = config(args)
    keras.backend.clear_session()
    keras.utils.set_random_seed(cfg.seed)
    data = load_synthetic(cfg.data, cfg.seed)
    model = build_mlp(cfg.model, data.spec.input_shape, data.spec.num_outputs)
    model.compile(**compile_kwargs_for(SimpleNamespace(cfg=cfg), data.spec))
    timer = EpochTimer()
    t = cfg.trainer
    model.fit(
        data.dataset("train", batch_size=t.batch_size, training=True, seed=cfg.seed), validation_data=data.dataset("val", batch_size=t.batch_size),
        epochs=t.epochs, callbacks=[timer], verbose=0,  # the same pipeline as tfexp's
    )
    return timer


def tfexp_fit(args, overrides: list[str], workdir: Path) -> EpochTimer:
    from tfexp.plugins import build_plugin_manager
    from tfexp.runner import run_experiment
    from tfexp.testing import store_uri

    plugin = TimerPlugin()
    out = Path(tempfile.mkdtemp(dir=workdir))
    run_experiment(config(args, [f"tracking.uri={store_uri(workdir)}", *overrides]), out, pm=build_plugin_manager((plugin,)))
    return plugin.timer


def measure_training(args, workdir: Path) -> None:
    samples = train_samples(args) * (args.epochs - 1)
    names = ["bare", *args.variants]
    time_callback_dispatch()
    bare_fit(args)  # warm-up: the process's first fit pays one-off costs
    timers = {name: [] for name in names}
    loads: list[float] = []
    for round_ in range(args.rounds):
        order = names[round_ % len(names):] + names[: round_ % len(names)]
        for name in order:
            timers[name].append(bare_fit(args) if name == "bare" else tfexp_fit(args, TRACKED[name], workdir))
        loads.append(os.getloadavg()[0])
        print(f"round {round_ + 1}/{args.rounds} (load average {loads[-1]:.1f}): " + "  ".join(f"{n}={samples / timers[n][-1].seconds:.0f}/s" for n in names), flush=True)

    def median(values):
        return statistics.median(list(values))

    def ratios(name, clock):  # per round, against that round's bare run
        return [getattr(b, clock) / getattr(t, clock) for b, t in zip(timers["bare"], timers[name])]

    print(f"\ntraining throughput, median of {args.rounds} rounds ({samples // (args.epochs - 1)} train samples x {args.epochs - 1} timed epochs, batch {args.batch_size}; "
          f"1-minute load average {min(loads):.1f}..{max(loads):.1f} on {os.cpu_count()} CPUs):")
    print(f"  bare: {median(samples / t.seconds for t in timers['bare']):.0f} samples/s")
    for name in args.variants:
        wall = ratios(name, "seconds")
        print(f"ratio {name}: {median(wall):.3f}  ({median(samples / t.seconds for t in timers[name]):.0f} samples/s; rounds {min(wall):.3f}..{max(wall):.3f})")
    print("per CPU-second of this process (all threads; other processes' load disturbs it less than wall time):")
    for name in args.variants:
        print(f"  cpu ratio {name}: {median(ratios(name, 'cpu_seconds')):.3f}")
    def share(name, seconds):  # median fraction of the timed interval
        return median(getattr(t, seconds) / t.seconds for t in timers[name])

    bare_dispatch, bare_background = share("bare", "dispatch_seconds"), share("bare", "background_seconds")
    print(
        f"tracking cost measured inside the runs, beyond bare fit's (medians; bare: callback dispatch "
        f"{100 * bare_dispatch:.2f}% of the training thread, background threads {100 * bare_background:.2f}% of one core):"
    )
    for name in args.variants:
        dispatch = share(name, "dispatch_seconds") - bare_dispatch
        background = share(name, "background_seconds") - bare_background
        print(
            f"  {name}: callbacks {100 * dispatch:+.2f}% of the training thread, background threads {100 * background:+.2f}% "
            f"of one core; throughput bound {1 - max(dispatch, 0) - max(background, 0):.3f} (if both were taken from training)"
        )


MINIMAL_APP = """
import hydra
from omegaconf import DictConfig


@hydra.main(version_base="1.3", config_path=".", config_name="config")
def main(cfg: DictConfig) -> None:
    print(cfg)


if __name__ == "__main__":
    main()
"""


def wall_time(command: list[str], cwd: Path) -> float:
    start = time.perf_counter()
    subprocess.run(command, cwd=cwd, check=True, capture_output=True)
    return time.perf_counter() - start


def measure_startup(args, workdir: Path) -> None:
    app = workdir / "minimal_app"
    app.mkdir()
    (app / "app.py").write_text(textwrap.dedent(MINIMAL_APP))
    (app / "config.yaml").write_text("seed: 42\ntrainer:\n  epochs: 20\n")
    commands = {"tfexp": [sys.executable, "-m", "tfexp", "--cfg", "job"], "minimal hydra app": [sys.executable, "app.py", "--cfg", "job"]}
    times = {name: [] for name in commands}
    for _ in range(args.startup_repeats):
        for name, command in commands.items():
            times[name].append(wall_time(command, app))
    tfexp, minimal = statistics.median(times["tfexp"]), statistics.median(times["minimal hydra app"])
    print(f"\nstart-up, median of {args.startup_repeats}: python -m tfexp --cfg job {tfexp:.2f} s, minimal Hydra app {minimal:.2f} s")
    print(f"ratio startup: {tfexp / minimal:.2f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--epochs", type=int, default=4, help="per run; the first is warm-up")
    parser.add_argument("--samples", type=int, default=30000, help="synthetic examples (65%% train)")
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--variants", nargs="+", default=list(TRACKED), choices=list(TRACKED))
    parser.add_argument("--startup-repeats", type=int, default=7)
    parser.add_argument("--skip-training", action="store_true")
    args = parser.parse_args()

    import tensorflow as tf

    print(f"{platform.node()}: {platform.processor() or platform.machine()}, python {platform.python_version()}, TensorFlow {tf.__version__}")
    with tempfile.TemporaryDirectory(prefix="tfexp-overhead-") as scratch:
        if not args.skip_training:
            measure_training(args, Path(scratch))
        measure_startup(args, Path(scratch))


if __name__ == "__main__":
    main()
