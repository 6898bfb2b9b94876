"""Does pruning pay? The distillation search with the median pruner against without it.

    python benchmarks/sweep_pruning.py [--trials 20] [--seeds 1 2 3] [--extra debug=fast ...]

Each sweep is a fresh ``python -m tfexp +experiment=distill hparams_search=distill_optuna``
process in its own temporary directory (its own mlflow.db and optuna.db) with
``hydra.sweeper.pruner=median`` or ``none`` and the sweep seed ``seed=S``; the two run
alternately per seed. Measured per sweep: wall time, CPU time of the process and its children
(``getrusage(RUSAGE_CHILDREN)``), the study's best value, and the pruned trials with the epoch
each stopped at (their ``tfexp.pruned`` tags). Printed: a markdown table and, per seed, the
pruned sweep's wall and CPU time as a fraction of the unpruned one's.
"""

from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def sweep(workdir: Path, pruner: str, seed: int, trials: int, extra: list[str]) -> dict:
    import optuna

    from tfexp.testing import mlflow_runs

    args = [
        "+experiment=distill", "hparams_search=distill_optuna", f"hydra.sweeper.pruner={pruner}",
        f"hydra.sweeper.n_trials={trials}", f"seed={seed}", "tracking.log_model=false", "export.formats=[]", *extra,
    ]
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"}
    env.pop("MLFLOW_TRACKING_URI", None)
    before, start = resource.getrusage(resource.RUSAGE_CHILDREN), time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "tfexp", *args], cwd=workdir, env=env, capture_output=True, text=True)
    wall, after = time.perf_counter() - start, resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode != 0:
        sys.exit(f"sweep failed ({' '.join(args)}):\n{done.stderr[-3000:]}")
    storage = f"sqlite:///{workdir / 'optuna.db'}"
    (name,) = optuna.get_all_study_names(storage)
    study = optuna.load_study(study_name=name, storage=storage)
    epochs = sorted(int(r.data.tags["tfexp.pruned"]) for r in mlflow_runs(workdir) if "tfexp.pruned" in r.data.tags)
    return {
        "pruner": pruner, "seed": seed, "wall": wall, "cpu": (after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime),
        "best": study.best_value, "pruned": epochs,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=20)
    parser.add_argument("--seeds", type=int, nargs="+", default=[1, 2, 3])
    parser.add_argument("--extra", nargs="*", default=[], help="more overrides for every sweep, e.g. debug=fast")
    args = parser.parse_args()
    rows = []
    for seed in args.seeds:
        for pruner in ("none", "median"):
            with tempfile.TemporaryDirectory() as workdir:
                rows.append(sweep(Path(workdir), pruner, seed, args.trials, args.extra))
                print(rows[-1], flush=True)
    print(f"\n{args.trials} trials per sweep; extra overrides: {' '.join(args.extra) or '-'}\n")
    print("| seed | pruner | wall s | CPU s | best | trials pruned (after epoch) |\n|---|---|---|---|---|---|")
    for r in rows:
        print(f"| {r['seed']} | {r['pruner']} | {r['wall']:.0f} | {r['cpu']:.0f} | {r['best']:.4f} | {len(r['pruned'])} ({', '.join(map(str, r['pruned'])) or '-'}) |")
    for seed in args.seeds:
        full, pruned = (next(r for r in rows if r["seed"] == seed and r["pruner"] == p) for p in ("none", "median"))
        print(f"seed {seed}: pruned/unpruned wall {pruned['wall'] / full['wall']:.2f}, CPU {pruned['cpu'] / full['cpu']:.2f}, best {pruned['best']:.4f} vs {full['best']:.4f}")


if __name__ == "__main__":
    main()
