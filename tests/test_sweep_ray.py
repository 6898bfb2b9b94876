"""Sweeps on Ray: a Ray head on 127.0.0.1 started as on a cluster's head node, and a sweep
sent to it with ``hydra/launcher=ray_cluster``: grid jobs, and Optuna trials two at a time.

The head runs in its own directory with its own environment, as on another machine: jobs
inherit neither the sweep's working directory nor its environment, so they reach their
parent run and the store only through what tfexp sends with them.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest
from conftest import free_ports
from test_sweep_optuna import FAST, parent_and_children, the_study

from tfexp.testing import artifact_paths, mlflow_runs, run_cli

# A one-machine cluster on the loopback address: without the first, Ray replaces 127.0.0.1
# by the machine's network address (which the head does not listen on); the second turns
# off the token authentication a multi-machine cluster would configure.
LOOPBACK_CLUSTER = {"RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER": "0", "RAY_AUTH_MODE": "disabled"}
RAY = Path(sys.executable).with_name("ray")


@pytest.fixture
def ray_head():
    """``ray start --head`` on 127.0.0.1 (short temp dir: Ray's socket paths have a length limit)."""
    home = Path(tempfile.mkdtemp(prefix="ray", dir="/tmp"))
    (port,) = free_ports(1)
    env = {k: v for k, v in os.environ.items() if k not in ("MLFLOW_TRACKING_URI",)} | LOOPBACK_CLUSTER
    start = [
        str(RAY), "start", "--head", "--node-ip-address=127.0.0.1", f"--port={port}", "--num-cpus=2",
        "--include-dashboard=false", "--disable-usage-stats", f"--temp-dir={home}",
    ]
    started = subprocess.run(start, cwd=home, env=env, capture_output=True, text=True, timeout=180)
    assert started.returncode == 0, started.stdout[-3000:] + started.stderr[-3000:]
    try:
        yield f"127.0.0.1:{port}"
    finally:
        subprocess.run([str(RAY), "stop", "--force"], env=env, capture_output=True, timeout=120)


@pytest.mark.slow
def test_ray_cluster_runs_each_job_as_a_child_of_the_sweep(tmp_path, ray_head):
    env = LOOPBACK_CLUSTER | {"RAY_ADDRESS": ray_head}
    result = run_cli(["-m", "debug=fast", "tracking.log_model=false", "seed=1,2", "hydra/launcher=ray_cluster"], cwd=tmp_path, env=env)
    assert result.returncode == 0, result.stderr[-3000:]
    assert f"Connecting to existing Ray cluster at address: {ray_head}" in result.stderr + result.stdout

    runs = mlflow_runs(tmp_path)
    (parent,) = [r for r in runs if r.data.tags.get("tfexp.sweep") == "parent"]
    children = [r for r in runs if r.data.tags.get("mlflow.parentRunId") == parent.info.run_id]
    assert sorted(c.data.params["seed"] for c in children) == ["1", "2"] and len(runs) == 3
    assert all(c.info.status == "FINISHED" and "val_accuracy" in c.data.metrics for c in children)
    # the job directories are on the "worker" (the head's directory); each job's result for the
    # summary is written to the sweep directory's path, which a worker on this machine reaches
    assert not list(tmp_path.glob("multirun/*/*/0/.hydra")) and list(tmp_path.glob("multirun/*/*/0/sweep_job.json"))
    assert parent.info.status == "FINISHED" and parent.data.metrics["jobs_failed"] == 0
    best = max(children, key=lambda c: c.data.metrics["objective"])
    assert parent.data.tags["tfexp.best_run_id"] == best.info.run_id
    assert "summary/sweep_jobs.csv" in artifact_paths(tmp_path, parent.info.run_id)


@pytest.mark.slow
def test_optuna_trials_run_side_by_side_on_ray_and_share_the_study(tmp_path, ray_head):
    """tfexp's Optuna sweeper with the Ray launcher: two trials at once in Ray workers, all
    reporting to the one sqlite study, and a trial pruned inside its worker comes back to the
    sweeper as pruned."""
    env = LOOPBACK_CLUSTER | {"RAY_ADDRESS": ray_head}
    args = [
        "-m", "hydra/sweeper=optuna", "hydra.sweeper.sampler=grid", "hydra.sweeper.pruner=median",
        "hydra.sweeper.n_startup_trials=1", "hydra.sweeper.warmup_epochs=0", "seed=1", "hydra.sweeper.n_jobs=2",
        # the grid's seeded order: 0.01 and 0.011 run together, then 1e-8 alone, pruned against them
        "trainer.learning_rate=choice(0.01,0.00000001,0.011)", *FAST, "debug.trainer.steps_per_epoch=20", "hydra/launcher=ray_cluster",
    ]
    result = run_cli(args, cwd=tmp_path, env=env)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "Ray Launcher is launching 2 jobs" in result.stdout + result.stderr

    trials = the_study(tmp_path).trials
    assert [(t.params["trainer.learning_rate"], t.state.name) for t in trials] == [(0.01, "COMPLETE"), (0.011, "COMPLETE"), (1e-8, "PRUNED")]
    parent, children = parent_and_children(tmp_path)
    by_job = {int(c.data.tags["tfexp.job"]): c for c in children}
    assert sorted(by_job) == [0, 1, 2] and len(children) == 3  # nothing lost or duplicated
    first, second, pruned = by_job[0], by_job[1], by_job[2]
    assert first.info.start_time < second.info.end_time and second.info.start_time < first.info.end_time  # side by side
    for trial, child in zip(trials, (first, second)):
        assert child.info.status == "FINISHED" and child.data.metrics["objective"] == pytest.approx(trial.value)
    assert pruned.info.status == "KILLED" and pruned.data.tags["tfexp.pruned"] == "0"
    assert parent.data.metrics["jobs_pruned"] == 1 and parent.data.metrics["jobs_failed"] == 0
