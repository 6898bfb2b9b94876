"""Separate runs that start together: one store, made once; one output directory each."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys

import pytest

from tfexp.errors import TfexpError
from tfexp.testing import mlflow_runs, tiny_run

PROCESSES = 8


@pytest.mark.slow
@pytest.mark.long
def test_processes_started_together_in_a_fresh_directory_all_record_their_runs(tmp_path):
    env = {k: v for k, v in os.environ.items() if k != "MLFLOW_TRACKING_URI"}
    procs = [
        subprocess.Popen([sys.executable, "-m", "tfexp", "debug=fast", "trainer.epochs=1", "export.formats=[]"],
                         cwd=tmp_path, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        for _ in range(PROCESSES)
    ]
    errors = [proc.communicate(timeout=900)[1] for proc in procs]
    assert [proc.returncode for proc in procs] == [0] * PROCESSES, "\n".join(e[-1500:] for e in errors)
    runs = mlflow_runs(tmp_path)
    assert [run.info.status for run in runs] == ["FINISHED"] * PROCESSES
    output_dirs = {run.data.tags["tfexp.output_dir"] for run in runs}
    assert len(output_dirs) == PROCESSES
    assert len(list((tmp_path / "outputs").glob("*/*/tfexp.log"))) == PROCESSES


def test_a_half_made_store_fails_in_one_line_naming_the_file_and_the_fix(tmp_path):
    broken = tmp_path / "mlflow.db"
    with sqlite3.connect(broken) as db:  # tables of an interrupted migration, no schema version
        db.execute("CREATE TABLE experiments (experiment_id INTEGER)")
    os.utime(broken, (0, 0))  # not being written now
    with pytest.raises(TfexpError, match=f"{broken} is a half-made MLflow store.*mv {broken}"):
        tiny_run(tmp_path)


def test_an_empty_file_becomes_a_complete_store(tmp_path):
    (tmp_path / "mlflow.db").touch()
    tiny_run(tmp_path, ["export.formats=[]"])
    assert [run.info.status for run in mlflow_runs(tmp_path)] == ["FINISHED"]
