"""Do the technique presets beat their own paired baselines on data they were not tuned on?

``run DIR``: for each data set and technique, ONE Hydra multirun over the seeds (TensorFlow
starts once per sweep), started in ``DIR/<data set>`` (its own ``mlflow.db``) under
``nice -n 10``; the MLflow experiment is the technique's name. A (technique, data set) whose
store already holds a finished run per seed is skipped, so an interrupted ``run`` resumes.
``report DIR``: the finished child runs read back from MLflow, per technique and data set:
technique and baseline test accuracy (mean ± std over seeds), the paired gain, its paired
t-test p-value, and for distillation the share of the teacher-student gap it closes.
experiments/validation.md has the commands and what they showed.

    python benchmarks/technique_validation.py run /tmp/validation --data digits breast_cancer synthetic
    python benchmarks/technique_validation.py report /tmp/validation
"""

from __future__ import annotations

import argparse
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np


@dataclass(frozen=True)
class Technique:
    overrides: tuple[str, ...]
    """The preset and the switch that also trains its paired baseline in the same run."""
    metric: str
    baseline: str
    teacher: str | None = None


DISTILL = ("+experiment=distill", "technique.baseline=true")
SEMISUP = ("+experiment=semisup", "technique.baseline=true")
TECHNIQUES = {
    "distill": Technique(DISTILL, "student/test_accuracy", "baseline/test_accuracy", "teacher/test_accuracy"),
    # Hinton et al.'s setting: a student of the teacher's depth and half its width, unregularized.
    "distill_wide": Technique((*DISTILL, "model.hidden_units=[256,256]"), "student/test_accuracy", "baseline/test_accuracy", "teacher/test_accuracy"),
    "pseudo_label": Technique((*SEMISUP, "technique.method=pseudo_label"), "test_accuracy", "test_baseline_accuracy"),
    "autoencoder": Technique((*SEMISUP, "technique.method=autoencoder"), "test_accuracy", "test_baseline_accuracy"),
    "fixmatch": Technique(("+experiment=fixmatch", "technique.baseline=true"), "test_accuracy", "test_baseline_accuracy"),
}
DATA = {
    "digits": (),
    "breast_cancer": ("data=breast_cancer",),
    # make_classification(2000 rows, 20 features, 10 informative, 4 classes, class_sep 1), drawn per seed
    "synthetic": ("data=synthetic",),
}


def finished(directory: Path, technique: str) -> list:
    """The technique's finished child runs (a sweep's parent run has no test metrics)."""
    from tfexp.testing import mlflow_runs

    if not (directory / "mlflow.db").exists():
        return []
    metric = TECHNIQUES[technique].metric
    return [r for r in mlflow_runs(directory, technique) if r.info.status == "FINISHED" and metric in r.data.metrics]


def run(root: Path, data: list[str], techniques: list[str], seeds: str, extra: list[str]) -> None:
    for name in data:
        directory = root / name
        directory.mkdir(parents=True, exist_ok=True)
        for technique in techniques:
            if len(finished(directory, technique)) >= len(seeds.split(",")):
                continue
            command = ["nice", "-n", "10", sys.executable, "-m", "tfexp", "-m", *TECHNIQUES[technique].overrides, *DATA[name],
                       f"seed={seeds}", f"tracking.experiment_name={technique}", *extra]
            print(" ".join(command[3:]), f"(in {directory})", flush=True)
            with open(directory / f"{technique}.log", "a") as log:
                subprocess.run(command, cwd=directory, stdout=log, stderr=subprocess.STDOUT, check=False)


def summary(values: np.ndarray, scale: float = 100, digits: int = 2) -> str:
    """Mean ± sample std, in percent (points) by default."""
    return f"{scale * values.mean():.{digits}f} ± {scale * values.std(ddof=1) if len(values) > 1 else 0:.{digits}f}"


def by_seed(directory: Path, technique: str) -> list[dict]:
    """The metrics of the newest finished run per seed, in seed order."""
    newest = {int(r.data.params["seed"]): r.data.metrics for r in reversed(finished(directory, technique))}
    return [newest[s] for s in sorted(newest)]


def accuracy_row(directory: Path, technique: str, metrics: list[dict]) -> str:
    from scipy.stats import ttest_rel

    spec = TECHNIQUES[technique]
    method, base = (np.array([m[key] for m in metrics]) for key in (spec.metric, spec.baseline))
    p = ttest_rel(method, base).pvalue if len(metrics) > 1 else float("nan")
    share = "—"
    if spec.teacher:
        teacher = np.array([m[spec.teacher] for m in metrics])
        gap = (teacher - base).mean()
        share = f"{(method - base).mean() / gap:.0%} of {100 * gap:+.2f} points (teacher {summary(teacher)})"
    per_seed = ", ".join(f"{100 * g:+.1f}" for g in method - base)
    return (f"| {technique} | {directory.name} | {len(metrics)} | {summary(method)} | {summary(base)} | "
            f"{summary(method - base)} ({per_seed}) | {p:.3g} | {share} |")


def calibration_row(directory: Path, technique: str, metrics: list[dict]) -> str:
    """Test loss and, where the run logged it, test ECE: a technique that gains accuracy while
    its loss rises is over-confident. Semi-supervised runs add their pseudo-labels' accuracy
    against the hidden labels and the share of the pool accepted, at the last epoch or round."""
    spec = TECHNIQUES[technique]
    keys = [key.replace("accuracy", name) for name in ("loss", "ece") for key in (spec.metric, spec.baseline)]
    cells = []
    for key in (*keys, "pseudo/accuracy", "pseudo/mask_rate"):
        values = [m[key] for m in metrics if key in m]
        cells.append(summary(np.array(values), scale=1, digits=3) if values else "—")
    return f"| {technique} | {directory.name} | {' | '.join(cells)} |"


def report(root: Path) -> None:
    found = [(root / name, technique) for technique in TECHNIQUES for name in DATA]
    found = [(d, t, metrics) for d, t in found if (metrics := by_seed(d, t))]
    print("| technique | data | seeds | technique test acc (%) | baseline test acc (%) | paired gain (points; per seed) | p (paired t) | share of teacher gap |")
    print("|---|---|---|---|---|---|---|---|")
    print("\n".join(accuracy_row(*row) for row in found))
    print("\n| technique | data | test loss | baseline test loss | test ECE | baseline test ECE | accepted pseudo-label accuracy (last) | mask rate (last) |")
    print("|---|---|---|---|---|---|---|---|")
    print("\n".join(calibration_row(*row) for row in found))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("command", choices=("run", "report"))
    parser.add_argument("directory", type=Path)
    parser.add_argument("--data", nargs="+", default=list(DATA), choices=list(DATA))
    parser.add_argument("--techniques", nargs="+", default=list(TECHNIQUES), choices=list(TECHNIQUES))
    parser.add_argument("--seeds", default="1,2,3,4,5")
    parser.add_argument("--overrides", nargs="+", default=[], help="more Hydra overrides for every run (run only)")
    args = parser.parse_args()
    if args.command == "run":
        run(args.directory, args.data, args.techniques, args.seeds, args.overrides)
    else:
        report(args.directory)


if __name__ == "__main__":
    main()
