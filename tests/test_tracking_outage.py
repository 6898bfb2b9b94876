"""A real MLflow server lost in the middle of a run: nothing logged is lost."""

from __future__ import annotations

import os
import subprocess
import sys
import time

import pytest
from mlflow import MlflowClient

from conftest import MlflowServer
from tfexp.checkpoint import CheckpointState

EPOCHS = 10
RUN = ["data=synthetic", "data.n_samples=6000", f"trainer.epochs={EPOCHS}", "trainer.batch_size=16", "trainer.verbose=0",
       "tracking.log_model=false", "tracking.mlflow.flush_interval_s=0.5", "tracking.experiment_name=outage"]


@pytest.fixture
def server(tmp_path):
    server = MlflowServer(tmp_path / "server")
    server.root.mkdir()
    server.start()
    yield server
    server.stop()


def start_run(tmp_path, args):
    env = {k: v for k, v in os.environ.items() if k != "MLFLOW_TRACKING_URI"}
    return subprocess.Popen([sys.executable, "-m", "tfexp", *args], cwd=tmp_path, env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)


def wait_for_epoch(tmp_path, proc, n: int, timeout: float = 300) -> str:
    deadline = time.time() + timeout
    while time.time() < deadline:
        assert proc.poll() is None, proc.stderr.read()
        for run_dir in (tmp_path / "outputs").glob("*/*"):
            if (state := CheckpointState.read(run_dir)) and state.epoch + 1 >= n:
                return state.tracker_refs["mlflow"]
        time.sleep(0.2)
    pytest.fail(f"no {n} epochs within {timeout} s")


def assert_all_epochs(url, run_id):
    client = MlflowClient(url)
    assert client.get_run(run_id).info.status == "FINISHED"
    for key in ("loss", "val_loss"):
        assert sorted(m.step for m in client.get_metric_history(run_id, key)) == list(range(EPOCHS)), key


@pytest.mark.slow
def test_metrics_buffered_during_an_outage_arrive_when_the_server_returns(tmp_path, server):
    proc = start_run(tmp_path, [*RUN, f"tracking.uri={server.url}", "tracking.mlflow.retry_timeout_s=120"])
    run_id = wait_for_epoch(tmp_path, proc, 2)
    server.stop()
    wait_for_epoch(tmp_path, proc, 4)  # training goes on without the server
    server.start()
    assert proc.wait(timeout=600) == 0, proc.stderr.read()[-3000:]
    assert_all_epochs(server.url, run_id)


@pytest.mark.slow
def test_a_server_that_never_returns_leaves_a_file_that_sends_everything_later(tmp_path, server):
    proc = start_run(tmp_path, [*RUN, f"tracking.uri={server.url}", "tracking.mlflow.retry_timeout_s=3"])
    run_id = wait_for_epoch(tmp_path, proc, 2)
    server.stop()
    stderr = proc.communicate(timeout=600)[1]
    assert proc.returncode == 0, stderr[-3000:]
    (spill,) = (tmp_path / "outputs").glob("*/*/unsent_tracking.jsonl")
    assert f"python -m tfexp_mlflow.spill {spill}" in stderr
    server.start()
    subprocess.run([sys.executable, "-m", "tfexp_mlflow.spill", str(spill)], check=True)
    assert_all_epochs(server.url, run_id)
    assert any(a.path == "logs" for a in MlflowClient(server.url).list_artifacts(run_id))
