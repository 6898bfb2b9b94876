"""Does pruning pay? The distillation search with a pruner (median by default) against without it.

    python benchmarks/sweep_pruning.py [--trials 20] [--seeds 1 2 3] [--extra trainer.epochs=8 ...]
        [--pruners none median] [--previous earlier.json] [--parallel] [--budget-s SECONDS]
        [--json out.json] [--keep DIR]

Results: experiments/sweeps.md.

Each sweep is a fresh ``python -m tfexp +experiment=distill hparams_search=distill_optuna``
process in its own temporary directory (its own mlflow.db and optuna.db) with
``hydra.sweeper.pruner=<each of --pruners>`` and the sweep seed ``seed=S``; they run
one after the other per seed, or with ``--parallel`` all sweeps at once (load from other
processes then hits both alike; the pruned sweep shares the CPUs with the others for all of
its time, so its wall time is the pessimistic one). Measured per sweep: wall time, CPU time
of the process and its children (``os.wait4``), the study's
best value, the pruned trials with the epoch each stopped at (their ``tfexp.pruned`` tags),
and for every trial the wall and CPU seconds since the sweep started when it ended (the
process's CPU is sampled from ``/proc`` twice a second).

"Reaches the unpruned best (within its seed spread)": each seed's target is its unpruned
sweep's best value minus the standard deviation of the unpruned bests over the seeds; for each
sweep, the wall and CPU seconds at which its best-so-far first reached the target, and for the
pruned one those over the unpruned sweep's whole wall and CPU time (the issue's ratio: the
unpruned sweep only knows its best at its end).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import signal
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from contextlib import nullcontext
from pathlib import Path

TICKS = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> float | None:
    """CPU seconds of a live process and its waited-for children, from ``/proc/<pid>/stat``."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return sum(int(v) for v in fields[11:15]) / TICKS  # utime stime cutime cstime


def sample_cpu(pid: int, done: threading.Event, samples: list[tuple[float, float]]) -> None:
    while not done.is_set():
        if (cpu := cpu_seconds(pid)) is not None:
            samples.append((time.time(), cpu))
        time.sleep(0.5)


def cpu_at(samples: list[tuple[float, float]], when: float) -> float:
    """The process's CPU seconds at wall-clock time ``when`` (the last sample before it)."""
    before = [cpu for t, cpu in samples if t <= when]
    return before[-1] if before else 0.0


def sweep(workdir: Path, pruner: str, seed: int, trials: int, extra: list[str], budget: float | None = None) -> dict:
    import optuna

    from tfexp.testing import mlflow_runs

    args = [
        "+experiment=distill", "hparams_search=distill_optuna", f"hydra.sweeper.pruner={pruner}",
        f"hydra.sweeper.n_trials={trials}", f"seed={seed}", "tracking.log_model=false", "export.formats=[]", *extra,
    ]
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"}
    env.pop("MLFLOW_TRACKING_URI", None)
    start, started = time.perf_counter(), time.time()
    with open(workdir / "sweep.log", "w") as log:
        proc = subprocess.Popen([sys.executable, "-m", "tfexp", *args], cwd=workdir, env=env, stdout=log, stderr=subprocess.STDOUT)
        samples: list[tuple[float, float]] = []
        done = threading.Event()
        sampler = threading.Thread(target=sample_cpu, args=(proc.pid, done, samples), daemon=True)
        sampler.start()
        stopped = False
        while True:  # os.wait4: this child's own CPU time, whatever else runs
            pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
            if pid:
                break
            if budget and time.perf_counter() - start > budget and not stopped:
                proc.send_signal(signal.SIGKILL)  # a killed study keeps its finished trials
                stopped = True
            time.sleep(0.5)
        done.set()
        sampler.join()
    wall = time.perf_counter() - start
    if os.waitstatus_to_exitcode(status) != 0 and not stopped:
        sys.exit(f"sweep failed ({' '.join(args)}):\n{(workdir / 'sweep.log').read_text()[-3000:]}")
    storage = f"sqlite:///{workdir / 'optuna.db'}"
    (name,) = optuna.get_all_study_names(storage)
    study = optuna.load_study(study_name=name, storage=storage)
    runs = {int(r.data.tags["tfexp.job"]): r for r in mlflow_runs(workdir) if "tfexp.job" in r.data.tags}
    pruned_at = {job: int(r.data.tags["tfexp.pruned"]) for job, r in runs.items() if "tfexp.pruned" in r.data.tags}
    per_trial = []
    for t in study.trials:
        if t.datetime_complete is None:  # the trial a stop interrupted
            continue
        ended = t.datetime_complete.timestamp()
        per_trial.append({
            "number": t.number, "state": t.state.name, "value": t.value, "params": t.params,
            "pruned_after_epoch": pruned_at.get(t.number), "wall": ended - started, "cpu": cpu_at(samples, ended),
            "teacher_cpu_share": teacher_share(workdir, runs.get(t.number), samples),
            "teacher_reused": t.number in runs and runs[t.number].data.tags.get("tfexp.distill.teacher", "").startswith("reused"),
        })
    return {
        "pruner": pruner, "seed": seed, "wall": wall, "cpu": usage.ru_utime + usage.ru_stime,
        "stopped": stopped, "best": max((t.value for t in study.trials if t.state.name == "COMPLETE"), default=float("nan")), "pruned": sorted(pruned_at.values()), "trials": per_trial,
    }


def teacher_share(workdir: Path, run, samples: list[tuple[float, float]]) -> float | None:
    """The share of a finished trial's CPU time spent before its student stage began: setting
    up the run and training the teacher (until its last ``teacher/val_accuracy``). The pruner
    sees only the student's epochs, so it can never save this part."""
    from mlflow import MlflowClient

    from tfexp.testing import store_uri

    if run is None or run.info.end_time is None:
        return None
    history = MlflowClient(store_uri(workdir)).get_metric_history(run.info.run_id, "teacher/val_accuracy")
    if not history:
        return None
    start, teacher_end, end = run.info.start_time / 1000, max(m.timestamp for m in history) / 1000, run.info.end_time / 1000
    total = cpu_at(samples, end) - cpu_at(samples, start)
    return (cpu_at(samples, teacher_end) - cpu_at(samples, start)) / total if total > 0 else None


def time_to_reach(row: dict, target: float) -> tuple[float, float] | None:
    """(wall, CPU) seconds at which the sweep's best-so-far first reached ``target``."""
    for t in sorted(row["trials"], key=lambda t: t["wall"]):
        if t["state"] == "COMPLETE" and t["value"] >= target:
            return t["wall"], t["cpu"]
    return None


def print_trial_costs(rows: list[dict]) -> None:
    """Median CPU seconds per trial (the sweep process's CPU between one trial's end and the
    next's), by kind: the trial that trained the teacher, finished trials that reused it,
    pruned ones. A pruned trial's cost is the set-up a pruner cannot cut plus its warm-up."""
    kinds: dict[str, list[float]] = {"trained the teacher": [], "finished, teacher reused": [], "pruned": []}
    for r in rows:
        previous = 0.0
        for t in sorted(r["trials"], key=lambda t: t["wall"]):
            kind = "pruned" if t["state"] == "PRUNED" else "finished, teacher reused" if t["teacher_reused"] else "trained the teacher"
            kinds[kind].append(t["cpu"] - previous)
            previous = t["cpu"]
    print("\n| trial | CPU s per trial, median (range) | trials |\n|---|---|---|")
    for kind, cpus in kinds.items():
        if cpus:
            print(f"| {kind} | {statistics.median(cpus):.1f} ({min(cpus):.1f}-{max(cpus):.1f}) | {len(cpus)} |")


def report(rows: list[dict], seeds: list[int], trials: int, extra: list[str]) -> None:
    print(f"\n{trials} trials per sweep; extra overrides: {' '.join(extra) or '-'}\n")
    print("| seed | pruner | wall s | CPU s | trials finished | teachers trained | best | trials pruned (after epoch) |\n|---|---|---|---|---|---|---|---|")
    for r in sorted(rows, key=lambda r: (r["seed"], r["pruner"] != "none")):
        finished = f"{len(r['trials'])}" + (" (stopped at the budget)" if r["stopped"] else "")
        trained = sum(not t["teacher_reused"] for t in r["trials"])
        print(f"| {r['seed']} | {r['pruner']} | {r['wall']:.0f} | {r['cpu']:.0f} | {finished} | {trained} | {r['best']:.4f} | {len(r['pruned'])} ({', '.join(map(str, r['pruned'])) or '-'}) |")
    shares = [t["teacher_cpu_share"] for r in rows for t in r["trials"] if t["state"] == "COMPLETE" and t["teacher_cpu_share"] is not None]
    if shares:
        print(f"\nteacher stage (and run set-up): median {statistics.median(shares):.0%} of a finished trial's CPU time ({len(shares)} trials)")
    print_trial_costs(rows)
    by = {(r["seed"], r["pruner"]): r for r in rows}
    bests = [by[s, "none"]["best"] for s in seeds]
    spread = statistics.stdev(bests) if len(bests) > 1 else 0.0
    print(f"\nunpruned best: mean {statistics.mean(bests):.4f}, sd {spread:.4f}; each seed's target: its unpruned best - sd\n")
    print("| seed | pruner | sweep wall, pruned/unpruned | sweep CPU | best pruned vs unpruned | target | unpruned reaches it (wall s, CPU s) "
          "| pruned reaches it (wall s, CPU s) | pruned's wall, CPU to the target / the unpruned sweep's |\n|---|---|---|---|---|---|---|---|---|")
    for pruner in sorted({r["pruner"] for r in rows} - {"none"}):
        for seed in seeds:
            full, pruned = by[seed, "none"], by[seed, pruner]
            target = full["best"] - spread
            reached = [time_to_reach(r, target) for r in (full, pruned)]
            when = [f"{r[0]:.0f}, {r[1]:.0f}" if r else "never" for r in reached]
            share = f"{reached[1][0] / full['wall']:.2f}, {reached[1][1] / full['cpu']:.2f}" if reached[1] else "never"
            print(f"| {seed} | {pruner} | {pruned['wall'] / full['wall']:.2f} | {pruned['cpu'] / full['cpu']:.2f} | {pruned['best']:.4f} vs {full['best']:.4f} "
                  f"| {target:.4f} | {when[0]} | {when[1]} | {share} |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=20)
    parser.add_argument("--seeds", type=int, nargs="+", default=[1, 2, 3])
    parser.add_argument("--extra", nargs="*", default=[], help="more overrides for every sweep, e.g. trainer.epochs=8")
    parser.add_argument("--parallel", action="store_true", help="run all sweeps at once (a loaded machine gives more CPU to more processes)")
    parser.add_argument("--budget-s", type=float, help="stop each sweep (SIGKILL) after this many seconds and report the trials it finished")
    parser.add_argument("--json", type=Path, help="also write every sweep's measurements (per trial too) here")
    parser.add_argument("--pruners", nargs="*", default=["none", "median"],
                        help="hydra.sweeper.pruner values to run (none, median, successive_halving, hyperband); none given: only report --previous")
    parser.add_argument("--previous", type=Path, help="also report the sweeps of an earlier --json (same trials and overrides), e.g. its unpruned ones")
    parser.add_argument("--keep", type=Path, help="run each sweep in KEEP/seed<S>-<pruner> and keep its stores and log (default: a temporary directory)")
    args = parser.parse_args()
    rows, lock = [], threading.Lock()

    def one(seed: int, pruner: str) -> None:
        kept = args.keep and args.keep / f"seed{seed}-{pruner}"
        with nullcontext(kept) if kept else tempfile.TemporaryDirectory() as workdir:
            Path(workdir).mkdir(parents=True, exist_ok=True)
            row = sweep(Path(workdir), pruner, seed, args.trials, args.extra, args.budget_s)
        with lock:
            rows.append(row)
            print({k: v for k, v in row.items() if k != "trials"}, flush=True)
            if args.json:
                args.json.write_text(json.dumps(rows, indent=1))

    jobs = [(seed, pruner) for seed in args.seeds for pruner in args.pruners]
    with ThreadPoolExecutor(max_workers=max(1, len(jobs)) if args.parallel else 1) as pool:
        for done in [pool.submit(one, *job) for job in jobs]:
            done.result()
    earlier = json.loads(args.previous.read_text()) if args.previous else []
    report([*earlier, *rows], args.seeds, args.trials, args.extra)


if __name__ == "__main__":
    main()
