"""Peak memory of one training epoch on 1x and 10x the TFRecord data: streaming must not grow.

    python benchmarks/data_memory.py [--megabytes 200] [--rounds 3]

Writes about ``--megabytes`` of TFRecord shards (784 float32 features + a label per
example), and a 10x set made of ten copies of those shards under other names. Each
measurement is a fresh process running one epoch of ``data=tfrecord`` through
``tfexp.runner.run_experiment`` (no tracking, no export; validation and test read one
shard), which prints its own peak RSS (``ru_maxrss``). Sizes alternate within each
round; printed: every process's peak, the median per size, and the ratio 10x / 1x.
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

from data_pipeline import FEATURES, write_shards

EXAMPLE_BYTES = FEATURES * 4 + 40  # float32 features plus the Example's framing, about


def child(pattern: str, small: str, workdir: str) -> None:
    """One epoch in this process; prints the peak RSS in MiB."""
    from tfexp.runner import run_experiment
    from tfexp.testing import compose

    cfg = compose([
        "data=tfrecord", f"data.train='{pattern}'", f"data.val='{small}'", f"data.test='{small}'",
        f"data.features.x=float32[{FEATURES}]", "data.label=y", "data.num_classes=10",
        "trainer.epochs=1", "trainer.batch_size=128", "trainer.verbose=0", "trainer.checkpoint_every=0",
        "tracking=none", "export.formats=[]",
    ])
    run_experiment(cfg, Path(workdir) / "outputs")
    print(f"peak_rss_mib={resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.1f}")


def measure(pattern: str, small: str, workdir: Path) -> float:
    out = subprocess.run(
        [sys.executable, __file__, "--child", pattern, small, str(workdir)],
        capture_output=True, text=True, check=True, env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"},
    ).stdout
    return float(out.rsplit("peak_rss_mib=", 1)[1].split()[0])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--megabytes", type=int, default=200)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--child", nargs=3, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        return child(*args.child)
    with tempfile.TemporaryDirectory() as root:
        base, large = Path(root, "1x"), Path(root, "10x")
        base.mkdir(), large.mkdir()
        rows = args.megabytes * 2**20 // EXAMPLE_BYTES
        write_shards(base, rows, shards=10)
        shards = sorted(base.glob("*.tfrecord"))
        for copy in range(10):
            for shard in shards:
                shutil.copy(shard, large / f"copy{copy}-{shard.name}")
        sizes = {name: sum(f.stat().st_size for f in d.glob("*.tfrecord")) / 2**20 for name, d in (("1x", base), ("10x", large))}
        peaks: dict[str, list[float]] = {"1x": [], "10x": []}
        for r in range(args.rounds):
            for name in (["1x", "10x"] if r % 2 == 0 else ["10x", "1x"]):
                folder = base if name == "1x" else large
                peak = measure(str(folder / "*.tfrecord"), str(shards[0]), Path(root))
                peaks[name].append(peak)
                print(f"round {r + 1} {name:3s} ({sizes[name]:.0f} MiB of TFRecords): peak RSS {peak:.0f} MiB", flush=True)
        print(f"load average (1, 5, 15 min): {os.getloadavg()}")
        one, ten = statistics.median(peaks["1x"]), statistics.median(peaks["10x"])
        print(f"median peak RSS: 1x {one:.0f} MiB, 10x {ten:.0f} MiB; ratio 10x/1x {ten / one:.3f}")


if __name__ == "__main__":
    main()
