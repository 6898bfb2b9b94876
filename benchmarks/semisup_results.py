"""The results-book table for ``semisup``: test accuracy mean ± std per label budget and method.

Reads the finished runs of an embedded MLflow store (the ``mlflow.db`` in the directory
the multiruns ran in). Runs made with ``technique.baseline=true`` also give the
supervised-only model trained in the same invocation on the same labels: its accuracy
is listed per number of epochs it trained, and each method's paired gain over it.

    python benchmarks/semisup_results.py /tmp/semisup-book [--experiment semisup]
"""

from __future__ import annotations

import argparse
from collections import defaultdict

import numpy as np

from tfexp.testing import mlflow_runs

ORDER = ("supervised-only", "pseudo_label", "fixmatch", "autoencoder")


def budget(params: dict) -> str:
    per_class = params.get("technique.labels_per_class", "None")
    return f"{per_class}/class" if per_class != "None" else f"{float(params['technique.labeled_fraction']):.0%}"


def collect(directory: str, experiment: str) -> tuple[dict, dict]:
    """``accuracy[(budget, row)][seed]`` and ``gain[(budget, row)][seed]``, where a row is a
    method with its epochs, or ``supervised-only`` with the epochs it trained."""
    accuracy: dict = defaultdict(lambda: defaultdict(list))
    gain: dict = defaultdict(lambda: defaultdict(list))
    for run in mlflow_runs(directory, experiment):
        p, m = run.data.params, run.data.metrics
        if run.info.status != "FINISHED" or "test_accuracy" not in m or "technique.method" not in p:
            continue  # failed, unfinished, or a sweep's parent run
        key, seed, epochs = budget(p), int(p["seed"]), p["trainer.epochs"]
        row = (key, p["technique.method"], epochs)
        accuracy[row][seed].append(m["test_accuracy"])
        if "test_baseline_accuracy" in m:
            accuracy[(key, "supervised-only", epochs)][seed].append(m["test_baseline_accuracy"])
            gain[row][seed].append(m["test_accuracy_gain"])
    return accuracy, gain


def mean_std(by_seed: dict) -> tuple[str, int]:
    values = np.array([np.mean(v) for v in by_seed.values()])
    std = values.std(ddof=1) if len(values) > 1 else 0.0
    return f"{values.mean():.4f} ± {std:.4f}", len(values)


def markdown(accuracy: dict, gain: dict) -> str:
    lines = [
        "| labels | method | epochs | seeds | test accuracy | gain over supervised-only (paired) |",
        "|---|---|---|---|---|---|",
    ]
    rows = sorted(accuracy, key=lambda r: (r[0], ORDER.index(r[1]) if r[1] in ORDER else len(ORDER), int(r[2])))
    for row in rows:
        acc, seeds = mean_std(accuracy[row])
        paired = f"{mean_std(gain[row])[0]:s}" if row in gain else "—"
        lines.append(f"| {row[0]} | {row[1]} | {row[2]} | {seeds} | {acc} | {paired} |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("directory", help="where the runs were started (holds mlflow.db)")
    parser.add_argument("--experiment", default="semisup")
    args = parser.parse_args()
    print(markdown(*collect(args.directory, args.experiment)))


if __name__ == "__main__":
    main()
