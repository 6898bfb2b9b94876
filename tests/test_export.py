"""Export and model lifecycle: best checkpoint, SavedModel, TFLite, MLflow Model Registry.

One short digits run (module fixture) is shared by the checks a user would make on its
outputs; the logic that needs no training (checkpoint choice, versions, config errors,
thresholds in the signature) is tested on its own; one subprocess sweep checks the CLI.
"""

from __future__ import annotations

import json

import numpy as np
import pytest
from mlflow import MlflowClient

from tfexp.errors import ConfigError
from tfexp.testing import artifact_paths, compose, mlflow_runs, run_cli, store_uri, tiny_run

REGISTERED = "digits-mlp"
TFLITE_TOLERANCE = {"none": 0.005, "dynamic": 0.02, "float16": 0.01, "int8": 0.03}
"""Largest test-accuracy gap to the Keras model per quantization (docs/export.md)."""


# -- no training ------------------------------------------------------------------------


def tiny_model():
    import keras

    return keras.Sequential([keras.Input((3,)), keras.layers.Dense(2)])


def fill(model, value: float) -> None:
    model.set_weights([np.full_like(w, value) for w in model.get_weights()])


@pytest.mark.parametrize(
    ("mode", "metric", "values", "best_epoch"),
    [("max", "val_accuracy", [0.5, 0.8, float("nan"), 0.7, 0.8], 1), ("min", "val_loss", [0.9, 0.6, 0.4, 0.5], 2)],
)
def test_best_checkpoint_keeps_the_epoch_with_the_best_metric(tmp_path, mode, metric, values, best_epoch):
    from tfexp_export.best_checkpoint import BestCheckpoint

    model, tracker = tiny_model(), BestCheckpoint(tmp_path / "best", metric, mode)
    for epoch, value in enumerate(values):
        fill(model, float(epoch))  # the weights say which epoch they are from
        tracker.observe(model, epoch, {metric: value, "loss": 1.0})
    assert tracker.observe(model, len(values), {"loss": 0.1}) is False  # an epoch without the metric

    info = json.loads((tmp_path / "best" / "info.json").read_text())
    assert info == {"epoch": best_epoch, "metric": metric, "value": values[best_epoch], "mode": mode}
    assert tracker.restore(model)
    assert all(np.all(w == best_epoch) for w in model.get_weights())
    # a resumed run (same directory) goes on from the best it had
    assert BestCheckpoint(tmp_path / "best", metric, mode).best == info


def test_versions_count_up_and_skip_what_is_taken(tmp_path):
    from tfexp_export.versions import publish, staging_dir, versions

    model_dir = tmp_path / "serving" / "mlp"
    assert [publish(staging_dir(model_dir), model_dir) for _ in range(2)] == [1, 2]
    (model_dir / "7").mkdir()
    (model_dir / "7" / "saved_model.pb").write_text("another run's")
    staged = staging_dir(model_dir)  # hidden: a server ignores it until it is published
    assert versions(model_dir) == [1, 2, 7]
    assert publish(staged, model_dir) == 8 and not staged.exists()


@pytest.mark.parametrize(
    ("overrides", "key"),
    [
        (["export.formats=[keras,onnx]"], "export.formats"),
        (["export.tflite.quantization=int4"], "export.tflite.quantization"),
        (["+export.quantize=true"], "export.quantize"),
        (["trainer.best_checkpoint.mode=best"], "trainer.best_checkpoint.mode"),
    ],
)
def test_config_errors_name_the_key(overrides, key):
    from tfexp_export.config import check_config

    with pytest.raises(ConfigError, match=key.replace(".", r"\.")):
        check_config(compose(overrides))


def test_multilabel_thresholds_travel_into_the_signature_and_params(tmp_path):
    """A plugin's ``run.info["prediction_params"]`` thresholds decide the served labels."""
    import tensorflow as tf

    from tfexp.data import Affine, Datasets
    from tfexp.run import Run
    from tfexp_export.prediction_params import prediction_params, thresholds
    from tfexp_export.serving import write_saved_model

    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(30, 3)).astype("float32"), rng.integers(0, 2, (30, 2)).astype("float32")
    data = Datasets(x, y, x, y, x, y, task="multilabel", class_names=["a", "b"], preprocessing=Affine(np.float32(2), np.float32(-1)))
    run = Run(compose(), tmp_path, plugin_manager=None, registry=None, data=data, info={"prediction_params": {"thresholds": {"a": 0.2, "b": 0.9}}})
    params = prediction_params(run)
    assert params["thresholds"] == {"a": 0.2, "b": 0.9} and params["input_preprocessing"]["scale"] == 2.0

    model = tiny_model()
    write_saved_model(model, data.spec, thresholds(params, 2), tmp_path / "sm", "serving_default")
    raw = data.sample("test", 30, raw=True)  # the whole split, in order
    np.testing.assert_allclose(data.spec.preprocessing.apply(raw), x, atol=1e-6)
    out = tf.saved_model.load(str(tmp_path / "sm")).signatures["serving_default"](inputs=tf.constant(raw))
    probabilities = 1 / (1 + np.exp(-model.predict(x, verbose=0)))
    np.testing.assert_allclose(out["probabilities"].numpy(), probabilities, atol=1e-5)
    assert np.array_equal(out["labels"].numpy(), (probabilities >= [0.2, 0.9]).astype("int32"))


# -- one trained run --------------------------------------------------------------------


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """Digits, 3 short epochs, best checkpoint by val_accuracy, every format, registered."""
    root = tmp_path_factory.mktemp("export")
    run = tiny_run(root, [
        "debug.trainer.epochs=3", "debug.trainer.steps_per_epoch=10", "tracking.tensorboard=false",
        "trainer.best_checkpoint.metric=val_accuracy", "export.formats=[keras,saved_model,tflite]",
        f"tracking.mlflow.register_model={REGISTERED}",
    ])
    (version_dir,) = (run.output_dir / "export" / "mlp").iterdir()
    return run, root, version_dir


def split_inputs(run, raw: bool = False) -> np.ndarray:
    """The whole test split's inputs (digits: a few hundred rows), in order."""
    return run.data.sample("test", run.data.spec.size("test"), raw=raw)


def test_saved_model_serves_raw_inputs_like_the_keras_model(trained):
    import tensorflow as tf

    run, _, version_dir = trained
    raw, x = split_inputs(run, raw=True), split_inputs(run)
    assert raw.max() == 16 and np.array_equal(raw, np.round(raw))  # digits' raw pixel counts 0..16
    signature = tf.saved_model.load(str(version_dir)).signatures["serving_default"]
    served = signature(inputs=tf.constant(raw))
    logits = run.model.predict(x, verbose=0)
    np.testing.assert_allclose(served["logits"].numpy(), logits, atol=1e-4)
    assert np.array_equal(served["class_id"].numpy(), logits.argmax(axis=-1))
    params = json.loads((version_dir / "prediction_params.json").read_text())
    assert params["class_names"] == [str(i) for i in range(10)] and params["input_preprocessing"]["scale"] == 1 / 16


def test_tflite_matches_keras_and_quantized_files_are_smaller(trained, tmp_path):
    from tfexp_export import tflite
    from tfexp_export.exporter import compare_on_test

    run, _, version_dir = trained
    info = json.loads((version_dir / "export_info.json").read_text())
    assert abs(info["test"]["tflite_test_accuracy"] - info["test"]["keras_test_accuracy"]) <= TFLITE_TOLERANCE["none"]
    sizes = {"none": info["bytes"]["tflite"]}
    representative = run.data.sample("train", 100, raw=True, seed=0)  # int8 calibration: raw inputs, as served
    assert representative.shape == (100, *run.data.spec.input_shape) and representative.max() > 1
    for quantization in ("dynamic", "float16", "int8"):
        path = tmp_path / f"{quantization}.tflite"
        path.write_bytes(tflite.convert(version_dir, "serving_default", quantization, representative))
        sizes[quantization] = path.stat().st_size
        scores = compare_on_test(run, run.model, path, "serving_default", np.array([0.5]))
        assert abs(scores["tflite_test_accuracy"] - scores["keras_test_accuracy"]) <= TFLITE_TOLERANCE[quantization], quantization
    assert sizes["dynamic"] < sizes["float16"] < sizes["none"] and sizes["int8"] < sizes["float16"]


def test_exported_model_is_the_best_checkpoint(trained):
    import keras

    run, _, version_dir = trained
    info = json.loads((run.output_dir / "best_checkpoint" / "info.json").read_text())
    accuracies = run.history["val_accuracy"]
    assert info["epoch"] == int(np.argmax(accuracies)) and info["value"] == max(accuracies)
    exported = keras.saving.load_model(version_dir / "model.keras")
    best = keras.models.clone_model(exported)
    best.load_weights(run.output_dir / "best_checkpoint" / "model.weights.h5")
    for a, b in zip(exported.get_weights(), best.get_weights()):
        np.testing.assert_array_equal(a, b)


def test_run_model_is_registered_with_alias_and_loads_back(trained):
    import mlflow

    run, root, _ = trained
    client = MlflowClient(store_uri(root))
    version = client.get_model_version_by_alias(REGISTERED, "candidate")
    assert version.run_id == run.tracker_refs["mlflow"]
    mlflow.set_tracking_uri(store_uri(root))
    uri = f"models:/{REGISTERED}@candidate"
    x = split_inputs(run)
    expected = run.model.predict(x, verbose=0)
    np.testing.assert_allclose(mlflow.pyfunc.load_model(uri).predict(x), expected, atol=1e-5)
    np.testing.assert_allclose(mlflow.keras.load_model(uri).predict(x, verbose=0), expected, atol=1e-5)
    params = json.loads(open(mlflow.artifacts.download_artifacts(f"{uri}/prediction_params.json")).read())
    assert params["task"] == "multiclass"

    mlflow_run = client.get_run(run.tracker_refs["mlflow"])
    assert mlflow_run.data.tags["tfexp.registered_model"] == f"{REGISTERED}/{version.version}"
    assert {"tflite_test_accuracy", "keras_test_accuracy"} <= set(mlflow_run.data.metrics)
    assert not [k for k in mlflow_run.data.metrics if k.startswith("export/")]  # sizes, version: tags
    assert int(mlflow_run.data.tags["tfexp.export.tflite_bytes"]) > 0 and mlflow_run.data.tags["tfexp.export.version"] == "1"
    artifacts = artifact_paths(root, run.tracker_refs["mlflow"])
    assert {"export/mlp/1/saved_model.pb", "export/mlp/1/model.tflite", "export/mlp/1/model.keras", "best_checkpoint/info.json"} <= artifacts


# -- the command line -------------------------------------------------------------------


@pytest.mark.slow
def test_sweep_exports_versions_to_a_shared_dir_and_registers_the_best_job(tmp_path):
    serving_dir = tmp_path / "serving"
    result = run_cli([
        "-m", "debug=fast", "seed=1,2", "tracking.tensorboard=false", f"export.dir={serving_dir}",
        "export.model_name=digits", "tracking.mlflow.register_best=digits-best",
    ], cwd=tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]
    assert sorted(p.name for p in (serving_dir / "digits").iterdir()) == ["1", "2"]
    assert "export: digits version" in result.stderr + result.stdout

    (parent,) = [r for r in mlflow_runs(tmp_path) if r.data.tags.get("tfexp.sweep") == "parent"]
    version = MlflowClient(store_uri(tmp_path)).get_model_version_by_alias("digits-best", "candidate")
    assert version.run_id == parent.data.tags["tfexp.best_run_id"]
    assert parent.data.tags["tfexp.registered_model"] == f"digits-best/{version.version}"
