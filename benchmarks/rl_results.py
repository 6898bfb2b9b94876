"""The results-book table for ``rl``: per agent and env, over seeds, from an MLflow store.

    python benchmarks/rl_results.py /tmp/rl-book [--experiment rl]

Reads the FINISHED runs of the embedded store (``mlflow.db`` in the directory the
multiruns ran in) and prints, per (agent, env): the seeds, the final greedy return over
``test_episodes`` (mean ± std across seeds, and the worst seed), how many seeds solved the
env, env steps and wall time to the first solving evaluation, env steps trained, the
training loop's wall time and the whole run's wall time (TensorFlow import excluded for
all but the first job of a multirun).
"""

from __future__ import annotations

import argparse
from collections import defaultdict

import numpy as np

from tfexp.testing import mlflow_runs


def mean_std(values: list[float], fmt: str = "{:.0f}") -> str:
    if not values:
        return "-"
    return f"{fmt.format(np.mean(values))} ± {fmt.format(np.std(values))}"


def values(runs: list, name: str) -> list[float]:
    return [r.data.metrics[name] for r in runs if name in r.data.metrics]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("directory")
    parser.add_argument("--experiment", default="rl")
    args = parser.parse_args()

    groups: dict[tuple[str, str], list] = defaultdict(list)
    for run in mlflow_runs(args.directory, args.experiment):
        if run.info.status == "FINISHED" and "test_eval_return_mean" in run.data.metrics:
            groups[(run.data.params["technique.agent"], run.data.params["technique.env_id"])].append(run)

    print("| agent | env | seeds | final eval return (100 ep.) | worst seed | solved | env steps to solve | wall s to solve | env steps trained | training wall s | run wall s |")
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    for (agent, env), runs in sorted(groups.items()):
        seeds = sorted(int(r.data.params["seed"]) for r in runs)
        finals = values(runs, "test_eval_return_mean")
        run_wall = [(r.info.end_time - r.info.start_time) / 1000 for r in runs]
        print(
            f"| {agent} | {env} | {','.join(map(str, seeds))} | {mean_std(finals, '{:.1f}')} | {min(finals):.1f} "
            f"| {len(values(runs, 'env_steps_to_solve'))}/{len(runs)} | {mean_std(values(runs, 'env_steps_to_solve'))} "
            f"| {mean_std(values(runs, 'wall_time_to_solve_s'))} | {mean_std(values(runs, 'total_env_steps'))} "
            f"| {mean_std(values(runs, 'train_wall_time_s'))} | {mean_std(run_wall)} |"
        )


if __name__ == "__main__":
    main()
