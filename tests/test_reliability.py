"""Faults a long run meets: kills, preemption, NaN losses, secrets in config."""

from __future__ import annotations

import math
import os
import signal
import subprocess
import sys
import time

import pytest
from mlflow import MlflowClient

from tfexp import hookimpl
from tfexp.checkpoint import CheckpointState
from tfexp.errors import ConfigError
from tfexp.secrets import MASK, mask_text, redact
from tfexp.testing import artifact_paths, compose, mlflow_runs, run_cli, store_uri, tiny_run

EPOCHS = 12
SLOW_RUN = ["data=synthetic", "data.n_samples=6000", f"trainer.epochs={EPOCHS}", "trainer.batch_size=16",
            "trainer.verbose=0", "tracking.log_model=false", "tracking.mlflow.flush_interval_s=0.2"]


def start_run(tmp_path, args):
    env = {k: v for k, v in os.environ.items() if k != "MLFLOW_TRACKING_URI"}
    return subprocess.Popen([sys.executable, "-m", "tfexp", *args], cwd=tmp_path, env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)


def wait_for_epochs(tmp_path, proc, n: int, timeout: float = 240) -> str:
    """Poll the run's checkpoint until ``n`` epochs are done; return its MLflow run id.
    (Polling the store itself could race the run's creation of the database.)"""
    deadline = time.time() + timeout
    while time.time() < deadline:
        assert proc.poll() is None, proc.stderr.read()
        for run_dir in (tmp_path / "outputs").glob("*/*"):
            state = CheckpointState.read(run_dir)
            if state and state.epoch + 1 >= n:
                return state.tracker_refs["mlflow"]
        time.sleep(0.2)
    pytest.fail(f"no {n} epochs within {timeout} s")


def assert_complete_history(tmp_path, run_id):
    client = MlflowClient(store_uri(tmp_path))
    run = client.get_run(run_id)
    assert run.info.status == "FINISHED"
    for key in ("loss", "val_loss", "val_accuracy"):
        assert sorted(m.step for m in client.get_metric_history(run_id, key)) == list(range(EPOCHS)), key
    return run


@pytest.mark.slow
def test_resume_after_sigkill_continues_the_same_run_without_gaps_or_repeats(tmp_path):
    proc = start_run(tmp_path, SLOW_RUN)
    run_id = wait_for_epochs(tmp_path, proc, 3)
    proc.kill()
    proc.wait()
    (run_dir,) = (tmp_path / "outputs").glob("*/*")
    result = run_cli([f"resume={run_dir}"], cwd=tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]
    assert len(mlflow_runs(tmp_path)) == 1
    run = assert_complete_history(tmp_path, run_id)
    assert run.data.params["data.n_samples"] == "6000"  # the run's own config came back


@pytest.mark.slow
def test_sigterm_stops_as_killed_and_resumable_then_resume_by_run_id(tmp_path):
    proc = start_run(tmp_path, SLOW_RUN)
    run_id = wait_for_epochs(tmp_path, proc, 2)
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=120) == 143
    run = MlflowClient(store_uri(tmp_path)).get_run(run_id)
    assert run.info.status == "KILLED" and run.data.tags["tfexp.resumable"].startswith("python -m tfexp resume=")
    result = run_cli([f"resume={run_id}"], cwd=tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]
    assert_complete_history(tmp_path, run_id)


@pytest.mark.slow
def test_resume_rejects_overrides_that_change_the_experiment(tmp_path):
    result = run_cli(["debug=fast", "tracking.log_model=false"], cwd=tmp_path)
    assert result.returncode == 0
    (run_dir,) = (tmp_path / "outputs").glob("*/*")
    result = run_cli([f"resume={run_dir}", "model=cnn"], cwd=tmp_path)
    assert result.returncode == 1 and "these overrides would change it: model=cnn" in result.stderr
    result = run_cli([f"resume={run_dir}"], cwd=tmp_path)
    assert result.returncode == 1 and "the run already FINISHED all 1 epochs" in result.stderr
    result = run_cli([f"resume={tmp_path}"], cwd=tmp_path)
    assert result.returncode == 1 and "no checkpoint in" in result.stderr


class PoisonLoss:
    """Makes the loss NaN from the given epoch while the learning rate is above ``safe_lr``."""

    def __init__(self, epoch: int, safe_lr: float | None = None):
        self.epoch, self.safe_lr = epoch, safe_lr

    @hookimpl
    def tfexp_before_fit(self, run, model):
        import keras

        poison = self

        class Poison(keras.callbacks.Callback):
            def on_train_batch_begin(self, batch, logs=None):
                lr = float(self.model.optimizer.learning_rate)
                if self.epoch >= poison.epoch and batch == 2 and (poison.safe_lr is None or lr > poison.safe_lr):
                    self.model.layers[-1].kernel.assign(self.model.layers[-1].kernel * math.nan)

            def on_epoch_begin(self, epoch, logs=None):
                self.epoch = epoch

        return [Poison()]


def test_nan_loss_fails_the_run_naming_epoch_and_step(tmp_path):
    from tfexp.checkpoint import NanLoss

    with pytest.raises(NanLoss, match="epoch 1, step 2"):
        tiny_run(tmp_path, ["debug.trainer.epochs=3"], plugins=[PoisonLoss(epoch=1)])
    (run,) = mlflow_runs(tmp_path)
    assert run.info.status == "FAILED" and "epoch 1, step 2" in run.data.tags["tfexp.error"]


def test_nan_recovery_restores_the_checkpoint_and_lowers_the_learning_rate(tmp_path):
    run = tiny_run(tmp_path, ["debug.trainer.epochs=3", "trainer.nan_recovery=2"], plugins=[PoisonLoss(epoch=1, safe_lr=6e-4)])
    (tracked,) = mlflow_runs(tmp_path)
    assert tracked.info.status == "FINISHED" and tracked.data.metrics["nan_recoveries"] == 1
    assert tracked.data.metrics["nan_recovery/learning_rate"] == pytest.approx(5e-4)
    history = MlflowClient(store_uri(tmp_path)).get_metric_history(tracked.info.run_id, "val_loss")
    assert sorted(m.step for m in history) == [0, 1, 2]
    assert math.isfinite(run.test_metrics["test_loss"])


SECRETS = ("s3cr3t", "hunter2", "pa55")


def assert_no_secret(text: str | bytes, where: str) -> None:
    for secret in SECRETS:
        assert (secret.encode() if isinstance(text, bytes) else secret) not in text, where


@pytest.mark.slow
def test_secrets_are_masked_in_params_config_overrides_tensorboard_console_and_uris(tmp_path):
    result = run_cli(["debug=fast", "tracking.log_model=false", "+data.api_token=s3cr3t", "+tracking.password=hunter2",
                      "tracking.uri=http://bob:pa55@127.0.0.1:9", "tracking.mlflow.fallback=local"], cwd=tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "http://bob:***@127.0.0.1:9" in result.stderr
    assert_no_secret(result.stderr, "console")
    (run,) = mlflow_runs(tmp_path)
    assert run.data.params["data.api_token"] == MASK and run.data.params["tracking.password"] == MASK
    assert run.data.params["tracking.uri"] == "http://bob:***@127.0.0.1:9"
    client = MlflowClient(store_uri(tmp_path))
    for artifact in artifact_paths(tmp_path, run.info.run_id):
        if artifact.startswith(("config/", "logs/", "tensorboard/")):
            assert_no_secret(open(client.download_artifacts(run.info.run_id, artifact, str(tmp_path)), "rb").read(), artifact)
    assert_no_secret(str(run.data.tags), "tags")
    run_dir = tmp_path / "outputs"
    hparams = [f.read_bytes() for f in run_dir.rglob("events.out.tfevents.*")]
    assert hparams and any(b"_hparams_" in events and MASK.encode() in events for events in hparams)
    for events in hparams:
        assert_no_secret(events, "TensorBoard events")


@pytest.mark.slow
def test_secrets_are_masked_in_the_sweep_parent_and_its_console_lines(tmp_path):
    result = run_cli(["-m", "seed=1,2", "debug=fast", "tracking.log_model=false", "export.formats=[]", "+data.api_token=s3cr3t"], cwd=tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]
    console = result.stdout + result.stderr
    assert "[sweep] job 2/2 seed=2: val_accuracy=" in console and f"+data.api_token={MASK}" in console  # Hydra's launch lines
    assert_no_secret(console, "console")
    runs = mlflow_runs(tmp_path)
    (parent,) = [r for r in runs if "mlflow.parentRunId" not in r.data.tags]
    assert f"+data.api_token={MASK}" in parent.data.tags["tfexp.overrides"]
    for r in runs:
        assert_no_secret(str(r.data.tags), "tags")


def test_redact_masks_nested_keys_override_strings_and_uri_passwords():
    config = {"db": {"password": "x", "host": "h"}, "overrides": ["a.token=1", "b=2"], "api_key": None,
              "tracking": {"uri": "https://bob:pa55@mlflow.example/x", "plain": "http://h:5000"}}
    assert redact(config) == {"db": {"password": MASK, "host": "h"}, "overrides": [f"a.token={MASK}", "b=2"], "api_key": MASK,
                              "tracking": {"uri": f"https://bob:{MASK}@mlflow.example/x", "plain": "http://h:5000"}}
    line = "[sweep] job 1/2 done: +db.password=pa55 tracking.uri=postgresql://u:pa55@db/x seed=1  objective=0.9"
    assert mask_text(line) == f"[sweep] job 1/2 done: +db.password={MASK} tracking.uri=postgresql://u:{MASK}@db/x seed=1  objective=0.9"


@pytest.mark.slow
def test_unreachable_server_fails_before_training_or_falls_back(tmp_path):
    result = run_cli(["debug=fast", "tracking.uri=http://127.0.0.1:9"], cwd=tmp_path)
    assert result.returncode == 1 and "MLflow server http://127.0.0.1:9 is unreachable" in result.stderr
    assert "tracking.mlflow.fallback=local" in result.stderr and "Epoch" not in result.stdout
    result = run_cli(["debug=fast", "tracking.uri=http://127.0.0.1:9", "tracking.mlflow.fallback=local", "tracking.log_model=false"], cwd=tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]
    (run,) = mlflow_runs(tmp_path)
    assert run.info.status == "FINISHED"


def test_range_errors_for_reliability_keys():
    with pytest.raises(ConfigError, match="trainer.nan_recovery"):
        from tfexp.config import validate

        validate(compose(["trainer.nan_recovery=2", "trainer.checkpoint_every=0"]))


@pytest.mark.slow
@pytest.mark.long
def test_eight_parallel_jobs_share_one_sqlite_store(tmp_path):
    args = ["-m", "seed=range(1,9)", "debug=fast", "tracking.log_model=false", "hydra/launcher=joblib", "hydra.launcher.n_jobs=8"]
    result = run_cli(args, cwd=tmp_path, timeout=1200)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "database is locked" not in result.stderr
    children = [r for r in mlflow_runs(tmp_path) if "mlflow.parentRunId" in r.data.tags]
    assert sorted(int(c.data.params["seed"]) for c in children) == list(range(1, 9))
    for child in children:
        assert child.info.status == "FINISHED"
        assert {"loss", "val_loss", "test_accuracy", "objective"} <= set(child.data.metrics)
