"""The run lifecycle in this process: hook order, the tracking sink, failure statuses."""

from __future__ import annotations

from pathlib import Path

import pytest
from mlflow import MlflowClient

from tfexp import hookimpl
from tfexp.testing import artifact_paths, store_uri, tiny_run

LIFECYCLE = [
    "tfexp_configure",
    "tfexp_before_run",
    "tfexp_after_strategy_created",
    "tfexp_build_data",
    "tfexp_build_model",
    "tfexp_before_compile",
    "tfexp_before_fit",
    "tfexp_run_fit",
    "tfexp_fit_stage",
    "tfexp_on_epoch_end",
    "tfexp_after_fit",
    "tfexp_evaluate",
    "tfexp_export_model",
    "tfexp_after_run",
]


class Recorder:
    """Records every lifecycle hook it sees (returning None from the firstresult ones, so
    the defaults still run), and adds a Keras callback."""

    def __init__(self):
        self.calls: list[str] = []
        self.logged: dict[str, float] = {}
        self.status = None

    @hookimpl
    def tfexp_configure(self, cfg):
        self.calls.append("tfexp_configure")

    @hookimpl
    def tfexp_before_run(self, run):
        self.calls.append("tfexp_before_run")
        run.log_params({"recorder.param": 1})
        run.set_tags({"recorder.tag": "yes"})

    @hookimpl
    def tfexp_after_strategy_created(self, run, strategy):
        self.calls.append("tfexp_after_strategy_created")
        assert run.strategy is strategy

    @hookimpl
    def tfexp_build_data(self, run):
        self.calls.append("tfexp_build_data")

    @hookimpl
    def tfexp_build_model(self, run, data):
        self.calls.append("tfexp_build_model")
        assert data is run.data and data.spec.num_outputs == 10

    @hookimpl
    def tfexp_before_compile(self, run, model, compile_kwargs):
        self.calls.append("tfexp_before_compile")
        compile_kwargs["metrics"] = [*compile_kwargs["metrics"], "sparse_top_k_categorical_accuracy"]

    @hookimpl
    def tfexp_before_fit(self, run, model):
        import keras

        self.calls.append("tfexp_before_fit")
        recorder = self

        class Seen(keras.callbacks.Callback):
            def on_train_begin(self, logs=None):
                recorder.calls.append("keras_on_train_begin")

        return [Seen()]

    @hookimpl
    def tfexp_run_fit(self, run, model, data, callbacks):
        self.calls.append("tfexp_run_fit")

    @hookimpl
    def tfexp_fit_stage(self, run, model, stage, train, val, epochs, steps_per_epoch, callbacks):
        self.calls.append("tfexp_fit_stage")

    @hookimpl
    def tfexp_on_epoch_end(self, run, epoch, logs):
        self.calls.append("tfexp_on_epoch_end")
        assert "val_loss" in logs

    @hookimpl
    def tfexp_after_fit(self, run, model, history):
        self.calls.append("tfexp_after_fit")

    @hookimpl
    def tfexp_evaluate(self, run, model, data):
        self.calls.append("tfexp_evaluate")

    @hookimpl
    def tfexp_export_model(self, run, model):
        self.calls.append("tfexp_export_model")

    @hookimpl
    def tfexp_on_run_error(self, run, error):
        self.calls.append("tfexp_on_run_error")

    @hookimpl
    def tfexp_after_run(self, run, status):
        self.calls.append("tfexp_after_run")
        self.status = status

    @hookimpl
    def tfexp_log_metrics(self, run, metrics, step):
        self.logged.update(metrics)

    @hookimpl
    def tfexp_log_artifact(self, run, path, artifact_path):
        self.calls.append(f"artifact:{Path(path).name}")


def test_hooks_fire_in_documented_order_and_reach_mlflow(tmp_path):
    recorder = Recorder()
    run = tiny_run(tmp_path, ["tracking.log_every_n_steps=1"], plugins=[recorder])
    lifecycle = [c for c in recorder.calls if c in LIFECYCLE]
    assert lifecycle == LIFECYCLE
    assert recorder.calls.index("keras_on_train_begin") > recorder.calls.index("tfexp_before_fit")
    assert "artifact:confusion_matrix.png" in recorder.calls and recorder.status == "FINISHED"
    assert {"loss", "val_accuracy", "test_accuracy", "step/loss", "sparse_top_k_categorical_accuracy"} <= set(recorder.logged)

    mlflow_run = MlflowClient(store_uri(tmp_path)).get_run(run.tracker_refs["mlflow"])
    assert mlflow_run.info.status == "FINISHED"
    assert mlflow_run.data.params["recorder.param"] == "1" and mlflow_run.data.tags["recorder.tag"] == "yes"
    assert mlflow_run.data.metrics["test_accuracy"] == pytest.approx(run.test_metrics["test_accuracy"])


class Data7:
    """Replaces the data (firstresult) and the model, checking the handoff."""

    @hookimpl
    def tfexp_build_data(self, run):
        from tfexp_sklearn_data import load_synthetic

        from tfexp.testing import compose

        return load_synthetic(compose(["data=synthetic", "data.n_classes=7", "data.n_informative=8"]).data, 0)

    @hookimpl
    def tfexp_build_model(self, run, data):
        import keras

        assert data.spec.num_outputs == 7
        return keras.Sequential([keras.Input(data.spec.input_shape), keras.layers.Dense(7)])

    @hookimpl
    def tfexp_evaluate(self, run, model, data):
        return {"custom": 0.5}

    @hookimpl
    def tfexp_run_fit(self, run, model, data, callbacks):
        run.epoch_end(0, {"loss": 1.0})
        return run.history


def test_firstresult_hooks_can_be_taken_over(tmp_path):
    run = tiny_run(tmp_path, plugins=[Data7()])
    assert run.data.spec.num_outputs == 7 and run.model.output_shape == (None, 7)
    assert run.test_metrics == {"test_custom": 0.5} and run.history == {"loss": [1.0]}


class Explodes:
    def __init__(self, error):
        self.error = error

    @hookimpl
    def tfexp_after_fit(self, run, model, history):
        raise self.error


def test_failing_plugin_marks_run_failed_with_traceback_and_keeps_metrics(tmp_path):
    recorder = Recorder()
    with pytest.raises(RuntimeError, match="plugin broke"):
        tiny_run(tmp_path, plugins=[recorder, Explodes(RuntimeError("plugin broke"))])
    ending = [c for c in recorder.calls if c in ("tfexp_export_model", "tfexp_on_run_error", "tfexp_after_run")]
    assert ending == ["tfexp_on_run_error", "tfexp_after_run"] and recorder.status == "FAILED"
    client = MlflowClient(store_uri(tmp_path))
    (failed,) = client.search_runs([e.experiment_id for e in client.search_experiments()])
    assert failed.info.status == "FAILED"
    assert "val_loss" in failed.data.metrics  # flushed before the run closed
    assert "error/traceback.txt" in artifact_paths(tmp_path, failed.info.run_id)
    text = client.download_artifacts(failed.info.run_id, "error/traceback.txt", str(tmp_path))
    assert "plugin broke" in open(text).read() and "tfexp_after_fit" in open(text).read()


def test_keyboard_interrupt_marks_run_killed(tmp_path):
    with pytest.raises(KeyboardInterrupt):
        tiny_run(tmp_path, plugins=[Explodes(KeyboardInterrupt())])
    client = MlflowClient(store_uri(tmp_path))
    (killed,) = client.search_runs([e.experiment_id for e in client.search_experiments()])
    assert killed.info.status == "KILLED"


def test_tracking_none_runs_without_mlflow_or_tensorboard(tmp_path):
    run = tiny_run(tmp_path, ["tracking=none"])
    assert "mlflow" not in run.tracker_refs and not (tmp_path / "mlflow.db").exists()
    assert not (tmp_path / "outputs" / "tensorboard").exists()
    assert run.test_metrics["test_accuracy"] > 0
