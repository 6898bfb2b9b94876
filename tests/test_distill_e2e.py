"""distill end to end: the preset from the command line, then reusing its teacher; on TFRecord files."""

from __future__ import annotations

import mlflow
import pytest

from tfexp.errors import ConfigError
from tfexp_distill.technique import CACHE_DIR
from tfexp.testing import mlflow_runs, run_cli, store_uri, tiny_run

STAGES = {"teacher/val_accuracy", "teacher/test_accuracy", "baseline/test_accuracy", "student/val_accuracy", "student/distillation_loss"}


@pytest.fixture(scope="module")
def distill_dir(tmp_path_factory):
    """One ``+experiment=distill debug=fast`` run with the baseline, shared by these tests."""
    directory = tmp_path_factory.mktemp("distill")
    result = run_cli(["+experiment=distill", "debug=fast", "technique.baseline=true"], cwd=directory)
    assert result.returncode == 0, result.stderr[-3000:]
    return directory


def test_preset_tracks_teacher_baseline_and_student_in_one_run(distill_dir):
    (run,) = mlflow_runs(distill_dir)
    metrics = run.data.metrics
    assert run.info.status == "FINISHED"
    assert STAGES | {"test_accuracy", "student/test_accuracy", "distill_gain/test_accuracy"} <= set(metrics)
    assert metrics["student/test_accuracy"] == metrics["test_accuracy"]
    assert metrics["distill_gain/test_accuracy"] == pytest.approx(metrics["student/test_accuracy"] - metrics["baseline/test_accuracy"])
    assert run.data.params["technique.temperature"] == "4.0" and run.data.tags["tfexp.technique"] == "distill"
    mlflow.set_tracking_uri(store_uri(distill_dir))
    logged = mlflow.search_logged_models(experiment_ids=[run.info.experiment_id], output_format="list")
    assert sorted(m.name for m in logged if m.source_run_id == run.info.run_id) == ["model", "teacher"]
    student = mlflow.keras.load_model(f"runs:/{run.info.run_id}/model")
    teacher = mlflow.keras.load_model(f"runs:/{run.info.run_id}/teacher")
    assert student.count_params() < teacher.count_params()  # the exported model is the small one
    # Each trained with its own learning rate (the preset's technique.teacher_learning_rate).
    assert float(teacher.optimizer.learning_rate) == pytest.approx(0.001) and float(student.optimizer.learning_rate) == pytest.approx(0.01)
    assert not list(distill_dir.rglob(CACHE_DIR))  # the cached teacher logits are removed after training


def test_teacher_from_a_previous_run_is_reused_and_tagged(distill_dir):
    (first,) = mlflow_runs(distill_dir)
    run = tiny_run(distill_dir, ["+experiment=distill", f"technique.teacher=runs:/{first.info.run_id}/teacher", "tracking.log_model=false"])
    reused = mlflow.MlflowClient(store_uri(distill_dir)).get_run(run.tracker_refs["mlflow"])
    assert reused.info.status == "FINISHED"
    assert reused.data.tags["tfexp.distill.teacher_run_id"] == first.info.run_id
    # The loaded teacher is evaluated, not retrained.
    assert reused.data.metrics["teacher/test_accuracy"] == pytest.approx(first.data.metrics["teacher/test_accuracy"], abs=1e-6)
    assert "teacher/loss" not in reused.data.metrics and "student/val_accuracy" in reused.data.metrics


def test_bad_teacher_uri_fails_before_training_with_a_clear_error(distill_dir):
    with pytest.raises(ConfigError, match=r"technique.teacher='runs:/0123456789abcdef/model' could not be loaded .*Run with id=0123456789abcdef not found"):
        tiny_run(distill_dir, ["+experiment=distill", "technique.teacher=runs:/0123456789abcdef/model"])
    failed = mlflow_runs(distill_dir)[0]
    assert failed.info.status == "FAILED" and "could not be loaded" in failed.data.tags["tfexp.error"]
    assert not any(key.startswith(("teacher/", "student/")) for key in failed.data.metrics)


def test_teacher_with_other_classes_is_rejected(tmp_path):
    import keras

    path = tmp_path / "three_classes.keras"
    inputs = keras.Input((8, 8, 1))
    keras.Model(inputs, keras.layers.Dense(3)(keras.layers.Flatten()(inputs))).save(path)
    with pytest.raises(ConfigError, match=r"student predicts 10 classes"):
        tiny_run(tmp_path, ["+experiment=distill", f"technique.teacher={path}", "tracking.mlflow.enabled=false", "tracking.tensorboard=false"])


@pytest.fixture(scope="module")
def tfrecord_digits(tmp_path_factory):
    """``data=tfrecord`` overrides for digits written as TFRecord shards by ``python -m tfexp.data convert``."""
    from tfexp.data.__main__ import main as convert

    schema = convert(["convert", "data=digits", f"out={tmp_path_factory.mktemp('tfrecord') / 'digits'}", "shards=2"])
    return ["data=tfrecord", f"data.schema={schema}"]


def test_preset_on_tfrecord_shards(tmp_path, tfrecord_digits):
    """Teacher, cached teacher logits, student and export, all from files."""
    run = tiny_run(tmp_path, ["+experiment=distill", *tfrecord_digits])
    tracked = mlflow.MlflowClient(store_uri(tmp_path)).get_run(run.tracker_refs["mlflow"])
    assert tracked.info.status == "FINISHED" and tracked.data.params["data.name"] == "tfrecord"
    assert {"teacher/test_accuracy", "student/val_distillation_loss", "student/test_accuracy", "test_accuracy"} <= set(tracked.data.metrics)
    assert not list(tmp_path.rglob(CACHE_DIR))


@pytest.mark.slow
def test_live_teacher_on_tfrecord_shards(tmp_path, tfrecord_digits):
    run = tiny_run(tmp_path, ["+experiment=distill", *tfrecord_digits, "technique.cache_teacher_logits=false", "tracking=none"])
    assert "student/val_distillation_loss" in run.history and "test_accuracy" in run.test_metrics


MIRRORED = """
import json, sys
from pathlib import Path
import tensorflow as tf

cpu = tf.config.list_physical_devices("CPU")[0]
tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)
from tfexp import hookimpl
from tfexp.components import StrategySpec
from tfexp.testing import tiny_run


class TwoCPUs:
    @hookimpl
    def tfexp_register_strategies(self):
        return [StrategySpec("two_cpus", lambda cfg: tf.distribute.MirroredStrategy(["/cpu:0", "/cpu:1"]))]


results = {}
for cache in ("true", "false"):
    run = tiny_run(Path(sys.argv[1]), ["+experiment=distill", "strategy.name=two_cpus", f"technique.cache_teacher_logits={cache}",
                                       "technique.baseline=true", "tracking.mlflow.enabled=false", "tracking.tensorboard=false"], plugins=[TwoCPUs()])
    results[cache] = {"replicas": run.strategy.num_replicas_in_sync, **run.test_metrics}
print(json.dumps(results))
"""


@pytest.mark.slow
def test_mirrored_strategy_with_cached_and_live_teacher(tmp_path):
    import json
    import subprocess
    import sys

    out = subprocess.run([sys.executable, "-c", MIRRORED, str(tmp_path)], capture_output=True, text=True, timeout=600)
    assert out.returncode == 0, out.stderr[-3000:]
    results = json.loads(out.stdout.strip().splitlines()[-1])
    assert results["true"]["replicas"] == results["false"]["replicas"] == 2
    # Cached logits are an optimization only: the same training either way.
    assert results["true"]["test_accuracy"] == pytest.approx(results["false"]["test_accuracy"])
