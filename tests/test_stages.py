"""The stage service (``run.fit``/``run.evaluate``): preemption, checkpoints, resume, per stage."""

from __future__ import annotations

import math
import signal
import time
from pathlib import Path

import mlflow
import pytest
from mlflow import MlflowClient

from test_reliability import SLOW_RUN, start_run
from tfexp import hookimpl
from tfexp.checkpoint import CheckpointState
from tfexp.testing import mlflow_runs, resume_run, run_cli, store_uri, tiny_run
from tfexp_distill.technique import GAIN


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


DISTILL = ["+experiment=distill", "technique.baseline=true", "trainer.epochs=6", "trainer.batch_size=8",
           "trainer.verbose=0", "tracking.mlflow.flush_interval_s=0.2"]
DISTILL_EPOCHS = 6


def wait_for_stage(tmp_path, proc, stage: str, epoch: int, timeout: float = 600) -> Path:
    """Poll the run's checkpoint until ``stage`` has finished ``epoch`` (or the whole stage:
    a poll can miss a short one); return the run dir."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        assert proc.poll() is None, proc.stderr.read()[-3000:]
        for run_dir in (tmp_path / "outputs").glob("*/*"):
            state = CheckpointState.read(run_dir)
            if state and ((state.stage == stage and state.epoch >= epoch) or stage in state.finished):
                return run_dir
        time.sleep(0.05)
    pytest.fail(f"stage {stage} did not reach epoch {epoch} within {timeout} s")


@pytest.mark.slow
@pytest.mark.long
def test_distill_sigterm_in_teacher_then_kill_in_student_resumes_each_stage_where_it_stopped(tmp_path):
    proc = start_run(tmp_path, DISTILL)
    run_dir = wait_for_stage(tmp_path, proc, "teacher", 1)
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=120) == 143
    (run,) = mlflow_runs(tmp_path)
    assert run.info.status == "KILLED" and run.data.tags["tfexp.resumable"] == f"python -m tfexp resume={run_dir}"
    proc = start_run(tmp_path, [f"resume={run_dir}"])
    wait_for_stage(tmp_path, proc, "student", 1)
    proc.kill()
    proc.wait()
    result = run_cli([f"resume={run.info.run_id}"], cwd=tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]
    (run,) = mlflow_runs(tmp_path)
    assert run.info.status == "FINISHED"
    client = MlflowClient(store_uri(tmp_path))
    for key in ("teacher/val_accuracy", "baseline/val_loss", "student/val_accuracy", "student/distillation_loss"):
        assert sorted(m.step for m in client.get_metric_history(run.info.run_id, key)) == list(range(DISTILL_EPOCHS)), key
    for key in ("teacher/test_accuracy", "baseline/test_accuracy", "student/test_accuracy", "test_accuracy", GAIN):
        assert len(client.get_metric_history(run.info.run_id, key)) == 1, key
    mlflow.set_tracking_uri(store_uri(tmp_path))
    logged = mlflow.search_logged_models(experiment_ids=[run.info.experiment_id], output_format="list")
    assert sorted(m.name for m in logged) == ["model", "teacher"]


class PoisonStudent:
    """NaN weights in the student from ``epoch`` on, while its learning rate is above ``safe_lr``."""

    def __init__(self, epoch: int, safe_lr: float):
        self.epoch, self.safe_lr = epoch, safe_lr

    @hookimpl
    def tfexp_before_fit(self, run, model):
        import keras

        poison, student = self, model

        class Poison(keras.callbacks.Callback):
            def on_epoch_begin(self, epoch, logs=None):
                self.epoch = epoch

            def on_train_batch_begin(self, batch, logs=None):
                if self.epoch >= poison.epoch and batch == 2 and float(student.optimizer.learning_rate) > poison.safe_lr:
                    student.layers[-1].kernel.assign(student.layers[-1].kernel * math.nan)

        return [Poison()]


def test_nan_in_the_student_stage_recovers_from_its_checkpoint(tmp_path):
    run = tiny_run(tmp_path, ["+experiment=distill", "debug.trainer.epochs=3", "trainer.nan_recovery=2", "tracking.log_model=false"],
                   plugins=[PoisonStudent(epoch=1, safe_lr=6e-3)])
    (tracked,) = mlflow_runs(tmp_path)
    assert tracked.info.status == "FINISHED" and tracked.data.metrics["nan_recoveries"] == 1
    assert tracked.data.metrics["nan_recovery/learning_rate"] == pytest.approx(5e-3)
    client = MlflowClient(store_uri(tmp_path))
    for key in ("teacher/val_loss", "student/val_loss"):
        assert sorted(m.step for m in client.get_metric_history(tracked.info.run_id, key)) == [0, 1, 2], key
    assert math.isfinite(run.test_metrics["test_loss"])


class OtherStudent:
    """Another plugin's model and evaluation: a technique wraps them, never replaces them."""

    @hookimpl
    def tfexp_build_model(self, run, data):
        import keras

        inputs = keras.Input(data.spec.input_shape)
        return keras.Model(inputs, keras.layers.Dense(data.spec.num_outputs)(keras.layers.Flatten()(inputs)), name="other_student")

    @hookimpl
    def tfexp_evaluate(self, run, model, data):
        return {"accuracy": 0.25, "custom": 1.0}


def test_another_plugins_model_and_evaluation_take_effect_under_distill(tmp_path):
    run = tiny_run(tmp_path, ["+experiment=distill", "tracking.log_model=false"], plugins=[OtherStudent()])
    assert run.model.name == "other_student"
    assert run.test_metrics == {"test_accuracy": 0.25, "test_custom": 1.0}
    (tracked,) = mlflow_runs(tmp_path)
    assert tracked.data.metrics["student/test_custom"] == 1.0 and "student/val_accuracy" in tracked.data.metrics


@pytest.mark.slow
@pytest.mark.long  # the slow run kills pseudo-labeling in tests/test_kill_resume.py
def test_pseudo_label_killed_in_a_round_resumes_that_round_at_its_epoch(tmp_path):
    epochs, rounds = 3, 2
    args = ["+experiment=semisup", "technique.method=pseudo_label", f"technique.rounds={rounds}", f"trainer.epochs={epochs}",
            "trainer.batch_size=8", "model=mlp", "trainer.verbose=0", "tracking.log_model=false", "tracking.mlflow.flush_interval_s=0.2"]
    proc = start_run(tmp_path, args)
    run_dir = wait_for_stage(tmp_path, proc, "round-1", epochs)  # one epoch into round 1 (epochs count on)
    proc.kill()
    proc.wait()
    result = run_cli([f"resume={run_dir}"], cwd=tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]
    (run,) = mlflow_runs(tmp_path, "semisup")
    assert run.info.status == "FINISHED"
    client = MlflowClient(store_uri(tmp_path))
    assert sorted(m.step for m in client.get_metric_history(run.info.run_id, "val_loss")) == list(range((rounds + 1) * epochs))
    assert sorted(m.step for m in client.get_metric_history(run.info.run_id, "pseudo/accepted")) == list(range(1, rounds + 1))


@pytest.mark.slow
@pytest.mark.long
def test_sigterm_stops_rl_after_the_next_update_and_resume_continues_it(tmp_path):
    args = ["+experiment=rl", "trainer.epochs=3", "technique.total_steps=3072", "technique.stop_when_solved=false",
            "technique.eval_episodes=5", "technique.test_episodes=5", "trainer.verbose=0", "tracking.mlflow.flush_interval_s=0.2",
            "tracking.log_model=false"]
    proc = start_run(tmp_path, args)
    run_dir = wait_for_stage(tmp_path, proc, "rl", 0)
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=120) == 143
    (run,) = mlflow_runs(tmp_path)
    assert run.info.status == "KILLED" and run.data.tags["tfexp.resumable"] == f"python -m tfexp resume={run_dir}"
    assert f"Continue with: python -m tfexp resume={run_dir}" in proc.stderr.read()
    result = run_cli([f"resume={run.info.run_id}"], cwd=tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]
    (run,) = mlflow_runs(tmp_path)
    assert run.info.status == "FINISHED"
    client = MlflowClient(store_uri(tmp_path))
    assert sorted(m.step for m in client.get_metric_history(run.info.run_id, "eval_return_mean")) == [0, 1, 2]
    assert sorted(m.step for m in client.get_metric_history(run.info.run_id, "env_steps")) == [0, 1, 2]
    assert sorted(m.value for m in client.get_metric_history(run.info.run_id, "env_steps")) == [1024, 2048, 3072]


def test_step_metrics_continue_after_resume_instead_of_restarting(tmp_path):
    first = tiny_run(tmp_path, ["debug.trainer.epochs=2", "tracking.log_every_n_steps=1", "tracking.log_model=false"])
    resume_run(tmp_path, first.output_dir, epochs=3)
    (run,) = mlflow_runs(tmp_path)
    steps = [m.step for m in MlflowClient(store_uri(tmp_path)).get_metric_history(run.info.run_id, "step/loss")]
    assert sorted(steps) == list(range(1, 3 * 5 + 1))  # 5 steps per epoch (debug=fast), on from 11
