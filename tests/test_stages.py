"""The stage service (``run.fit``/``run.evaluate``): preemption, checkpoints, resume, per stage."""

from __future__ import annotations

import signal
import time

import pytest
from mlflow import MlflowClient

from test_reliability import SLOW_RUN, start_run
from tfexp.testing import mlflow_runs, store_uri


def wait_for_metric(tmp_path, proc, key: str, timeout: float = 240) -> str:
    """Poll the run's MLflow store until ``key`` was logged; return the run id."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        assert proc.poll() is None, proc.stderr.read()
        if (tmp_path / "mlflow.db").is_file():
            try:
                for run in mlflow_runs(tmp_path):
                    if key in run.data.metrics:
                        return run.info.run_id
            except Exception:  # the store is still being created
                pass
        time.sleep(0.3)
    pytest.fail(f"no {key} within {timeout} s")


@pytest.mark.slow
def test_sigterm_without_checkpoints_stops_killed_and_says_why(tmp_path):
    proc = start_run(tmp_path, [*SLOW_RUN, "trainer.checkpoint_every=0"])
    run_id = wait_for_metric(tmp_path, proc, "loss")
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=120) == 143
    run = MlflowClient(store_uri(tmp_path)).get_run(run_id)
    assert run.info.status == "KILLED" and "tfexp.resumable" not in run.data.tags
    assert "not resumable: trainer.checkpoint_every=0 kept no checkpoint" in proc.stderr.read()
