"""Resume after a late kill, and the runs ``resume=`` refuses in one line: a FINISHED run,
a run in use by another process, a sweep's parent, a damaged checkpoint."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time

import pytest
from mlflow import MlflowClient

from conftest import write_plugin_dist
from tfexp import hookimpl
from tfexp.checkpoint import DamagedCheckpoint, CheckpointState
from tfexp.errors import ConfigError
from tfexp.run_lock import RunInUse, run_lock
from tfexp.testing import mlflow_runs, run_cli, store_uri, tiny_run


class KillAfterTraining:
    """Stands for a kill after the last epoch: training is done, evaluation never starts."""

    @hookimpl
    def tfexp_after_fit(self, run, model, history):
        raise KeyboardInterrupt("killed after the last epoch")


def killed_after_training(tmp_path, overrides=()):
    with pytest.raises(KeyboardInterrupt):
        tiny_run(tmp_path, ["debug.trainer.epochs=2", *overrides], plugins=[KillAfterTraining()])
    (run,) = mlflow_runs(tmp_path)
    assert run.info.status == "KILLED"
    (run_dir,) = (tmp_path / "outputs").parent.glob("outputs")
    return run_dir, run.info.run_id


@pytest.mark.parametrize("preset", [[], pytest.param(["+experiment=distill"], marks=pytest.mark.slow)], ids=["supervised", "distill"])
def test_a_run_killed_after_its_last_epoch_resumes_into_evaluation_and_ends_finished(tmp_path, preset):
    run_dir, run_id = killed_after_training(tmp_path, preset)
    assert CheckpointState.read(run_dir).trained
    run = tiny_run(tmp_path, [f"resume={run_dir}"])
    (tracked,) = mlflow_runs(tmp_path)
    assert tracked.info.run_id == run_id and tracked.info.status == "FINISHED"
    assert "test_accuracy" in tracked.data.metrics and run.test_metrics
    val = "val_accuracy" if not preset else "student/val_accuracy"
    assert len(run.history[val]) == 2  # the summary and the sweep objective see the epochs trained before the kill
    client = MlflowClient(store_uri(tmp_path))
    assert sorted(m.step for m in client.get_metric_history(run_id, "loss" if not preset else "student/loss")) == [0, 1]
    with pytest.raises(ConfigError, match=r"already FINISHED all 2 epochs.*trainer.epochs=N \(N > 2\)"):
        tiny_run(tmp_path, [f"resume={run_dir}"])


def test_a_run_stopped_while_its_trackers_closed_is_not_exported_twice(tmp_path):
    """A kill after MLflow ended the run FINISHED, before ``state.json`` said so: resume
    only closes the run again."""
    import mlflow

    first = tiny_run(tmp_path, ["debug.trainer.epochs=2"])
    state_file = first.output_dir / "checkpoints" / "state.json"
    state = json.loads(state_file.read_text())
    assert state["completed"] and state["test_metrics"] == first.test_metrics
    state_file.write_text(json.dumps({**state, "completed": False}))  # the state as it was at that moment
    run = tiny_run(tmp_path, [f"resume={first.output_dir}"])
    (tracked,) = mlflow_runs(tmp_path)
    assert tracked.info.status == "FINISHED" and run.test_metrics == first.test_metrics
    client = MlflowClient(store_uri(tmp_path))
    assert len(client.get_metric_history(tracked.info.run_id, "test_accuracy")) == 1
    mlflow.set_tracking_uri(store_uri(tmp_path))
    assert [m.name for m in mlflow.search_logged_models(experiment_ids=[tracked.info.experiment_id], output_format="list")] == ["model"]
    assert sorted(p.name for p in (first.output_dir / "export" / "mlp").iterdir()) == ["1"]  # one version


def test_resume_refuses_a_run_another_process_holds(tmp_path):
    run_dir, _ = killed_after_training(tmp_path)
    with run_lock(run_dir):
        with pytest.raises(RunInUse, match=rf"{run_dir} is in use: pid \d+ on .* is running or resuming this run now"):
            tiny_run(tmp_path, [f"resume={run_dir}"])
    assert mlflow_runs(tmp_path)[0].info.status == "KILLED"  # the refusal touched nothing



class CtrlCInFirstEpoch:
    """Ctrl-C at the first batch: before any epoch has ended."""

    @hookimpl
    def tfexp_before_fit(self, run, model):
        import keras

        class Interrupt(keras.callbacks.Callback):
            def on_train_batch_begin(self, batch, logs=None):
                raise KeyboardInterrupt

        return [Interrupt()]


def test_ctrl_c_before_the_first_epoch_ends_leaves_a_resume_command_that_works(tmp_path):
    with pytest.raises(KeyboardInterrupt):
        tiny_run(tmp_path, plugins=[CtrlCInFirstEpoch()])
    (killed,) = mlflow_runs(tmp_path)
    assert killed.info.status == "KILLED"
    command = killed.data.tags["tfexp.resumable"]
    assert command == f"python -m tfexp resume={tmp_path / 'outputs'}"
    tiny_run(tmp_path, [command.split()[-1]])
    (run,) = mlflow_runs(tmp_path)
    assert run.info.status == "FINISHED" and "test_accuracy" in run.data.metrics

def truncate(path):
    path.write_bytes(path.read_bytes()[: max(1, path.stat().st_size // 2)])


DAMAGES = {
    "state.json truncated": (lambda d: truncate(d / "checkpoints/state.json"), "state.json (JSONDecodeError"),
    "state.json edited: field gone": (lambda d: (d / "checkpoints/state.json").write_text('{"epoch": 1}'), "state.json (TypeError"),
    "state.json edited: wrong type": (lambda d: (d / "checkpoints/state.json").write_text(
        json.dumps({**json.loads((d / "checkpoints/state.json").read_text()), "epoch": "two"})), "state.json (TypeError"),
    "checkpoint index deleted": (lambda d: (d / "checkpoints/stage-run.index").unlink(), "stage-run.index (missing)"),
    "checkpoint data deleted": (lambda d: next((d / "checkpoints").glob("stage-run.data-*")).unlink(), "stage-run.data-00000-of-00001 (missing)"),
    "checkpoint index truncated": (lambda d: truncate(d / "checkpoints/stage-run.index"), "stage-run.index ("),
    "checkpoint data truncated": (lambda d: truncate(next((d / "checkpoints").glob("stage-run.data-*"))), "stage-run.data-00000-of-00001 ("),
    "saved config edited": (lambda d: (d / "checkpoints/config.yaml").write_text("trainer: [unclosed"), "config.yaml ("),
}


def test_damaged_checkpoints_are_refused_naming_the_file(tmp_path):
    run_dir, _ = killed_after_training(tmp_path)
    for name, (damage, expected) in DAMAGES.items():
        copy = tmp_path / name.replace(" ", "_").replace(":", "")
        shutil.copytree(run_dir, copy)
        damage(copy)
        with pytest.raises(DamagedCheckpoint, match="damaged checkpoint: ") as error:
            tiny_run(tmp_path, [f"resume={copy}"])
        assert str(copy) in str(error.value) and expected in str(error.value), (name, str(error.value))
        assert "\n" not in str(error.value) and "put back an intact copy" in str(error.value)
    assert mlflow_runs(tmp_path)[0].info.status == "KILLED"


def test_a_moved_run_directory_resumes(tmp_path):
    run_dir, run_id = killed_after_training(tmp_path)
    moved = tmp_path / "elsewhere" / "run"
    moved.parent.mkdir()
    run_dir.rename(moved)
    assert not json.loads((moved / "checkpoints/state.json").read_text())["path"].startswith("/")
    tiny_run(tmp_path, [f"resume={moved}"])
    assert mlflow_runs(tmp_path)[0].info.status == "FINISHED"


SLEEP_AFTER_FIT = """
import time
from tfexp import hookimpl

@hookimpl
def tfexp_after_fit(run, model, history):
    (run.output_dir / "trained.marker").touch()
    time.sleep(600)
"""


@pytest.mark.slow
def test_sigkill_after_the_last_epoch_then_resume_ends_finished_with_test_metrics(tmp_path):
    site = write_plugin_dist(tmp_path / "site", "sleepy-plugin", "sleepy_plugin", SLEEP_AFTER_FIT)
    env = {k: v for k, v in os.environ.items() if k != "MLFLOW_TRACKING_URI"}
    env["PYTHONPATH"] = os.pathsep.join([str(site), env.get("PYTHONPATH", "")])
    proc = subprocess.Popen([sys.executable, "-m", "tfexp", "debug=fast", "debug.trainer.epochs=2", "tracking.log_model=false"],
                            cwd=tmp_path, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    deadline = time.time() + 300
    while not list(tmp_path.glob("outputs/*/*/trained.marker")):
        assert proc.poll() is None and time.time() < deadline, proc.stderr.read() if proc.poll() is not None else "no marker"
        time.sleep(0.2)
    proc.kill()
    proc.wait()
    (run_dir,) = (tmp_path / "outputs").glob("*/*")
    (killed,) = mlflow_runs(tmp_path)
    assert killed.info.status == "RUNNING"  # SIGKILL: nothing could mark it
    result = run_cli([f"resume={run_dir}"], cwd=tmp_path)  # without the sleepy plugin
    assert result.returncode == 0, result.stderr[-3000:]
    (run,) = mlflow_runs(tmp_path)
    assert run.info.run_id == killed.info.run_id and run.info.status == "FINISHED"
    assert "test_accuracy" in run.data.metrics
    again = run_cli([f"resume={run_dir}"], cwd=tmp_path)
    assert again.returncode == 1 and "already FINISHED all 2 epochs" in again.stderr and "Traceback" not in again.stderr


@pytest.mark.slow
def test_two_resumes_at_once_one_continues_the_other_is_refused(tmp_path):
    from test_reliability import SLOW_RUN, assert_complete_history, start_run, wait_for_epochs

    proc = start_run(tmp_path, SLOW_RUN)
    run_id = wait_for_epochs(tmp_path, proc, 1, timeout=600)
    proc.kill()
    proc.wait()
    (run_dir,) = (tmp_path / "outputs").glob("*/*")
    env = {k: v for k, v in os.environ.items() if k != "MLFLOW_TRACKING_URI"}
    resumes = [subprocess.Popen([sys.executable, "-m", "tfexp", f"resume={run_dir}"], cwd=tmp_path, env=env,
                                stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True) for _ in range(2)]
    results = [(p.wait(timeout=900), p.stderr.read()) for p in resumes]
    assert sorted(code for code, _ in results) == [0, 1], [err[-2000:] for _, err in results]
    refused = next(err for code, err in results if code == 1)
    assert f"{run_dir} is in use: pid" in refused and "Traceback" not in refused
    assert_complete_history(tmp_path, run_id)  # every epoch logged once, FINISHED
