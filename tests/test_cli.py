"""``python -m tfexp`` as a user runs it: subprocesses in a fresh directory."""

from __future__ import annotations

import re
import subprocess
import sys
import time

import pytest
from mlflow import MlflowClient
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

from tfexp.testing import artifact_paths, mlflow_runs, run_cli, store_uri

from conftest import write_plugin_dist

HEAVY = ("tensorflow", "keras", "mlflow")


def imported_modules(args, cwd) -> set[str]:
    """Top-level modules imported by ``python -X importtime -m tfexp *args``."""
    out = subprocess.run([sys.executable, "-X", "importtime", "-m", "tfexp", *args], cwd=cwd, capture_output=True, text=True)
    names = {line.split("|")[-1].strip().split(".")[0] for line in out.stderr.splitlines() if line.startswith("import time:")}
    return names


@pytest.mark.parametrize("args", [["--cfg", "job"], ["--help"], ["trainer.epochs=abc"], ["model=nope"]])
def test_config_commands_and_errors_do_not_import_heavy_libraries(tmp_path, args):
    assert not imported_modules(args, tmp_path) & set(HEAVY)


def test_config_error_is_fast_and_names_the_key(tmp_path):
    start = time.perf_counter()
    result = run_cli(["trainer.epochs=abc"], cwd=tmp_path)
    elapsed = time.perf_counter() - start
    assert result.returncode == 1 and "trainer.epochs" in result.stderr
    assert elapsed < 10  # generous: the point is "no TensorFlow import", checked above
    assert not (tmp_path / "mlflow.db").exists()


def test_unknown_component_name_lists_known_names(tmp_path):
    result = run_cli(["model.name=resnet"], cwd=tmp_path)
    assert result.returncode == 1
    assert "unknown model 'resnet'; known model names: " in result.stderr and "cnn, " in result.stderr
    assert "Traceback" not in result.stderr


def test_debug_fast_run_is_tracked_in_mlflow_and_tensorboard(tmp_path):
    result = run_cli(["debug=fast"], cwd=tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]
    (run,) = mlflow_runs(tmp_path)
    assert run.info.status == "FINISHED"
    assert len(run.data.params) >= 10 and run.data.params["trainer.epochs"] == "1"
    assert run.data.params["model.hidden_units"] == "[256, 128]"
    assert {"loss", "accuracy", "val_loss", "val_accuracy", "test_loss", "test_accuracy"} <= set(run.data.metrics)
    # only measurements of training are metrics; the model's size is a param, its summary a file
    assert "learning_rate" in run.data.metrics and not [k for k in run.data.metrics if k.startswith("export/")]
    assert run.data.params["model.params"] == str(64 * 256 + 256 + 256 * 128 + 128 + 128 * 10 + 10)
    assert run.data.tags["tfexp.technique"] == "supervised" and run.data.tags["tfexp.model"] == "mlp"
    assert re.fullmatch(r"supervised-mlp-digits-[0-9a-f]{6}", run.info.run_name)
    experiment = MlflowClient(store_uri(tmp_path)).get_experiment(run.info.experiment_id)
    assert experiment.tags["mlflow.experimentKind"] == "custom_model_development"  # the UI's training view
    artifacts = artifact_paths(tmp_path, run.info.run_id)
    assert {"config/config.yaml", "config/hydra/overrides.yaml", "confusion_matrix.png", "logs/tfexp.log", "model_summary.txt"} <= artifacts
    assert any(a.startswith("tensorboard/events.out.tfevents") for a in artifacts)
    (model_output,) = run.outputs.model_outputs
    import mlflow

    mlflow.set_tracking_uri(store_uri(tmp_path))
    model = mlflow.pyfunc.load_model(f"runs:/{run.info.run_id}/model")
    assert model.metadata.signature is not None

    # The summary says where everything is and how to open it.
    assert "test_accuracy=" in result.stderr and f"mlflow ui --backend-store-uri {store_uri(tmp_path)}" in result.stderr
    # ... and nothing else: no TensorFlow C++ logging, MLflow store chatter, temporary paths
    # or private class names (run_cli does not set TF_CPP_MIN_LOG_LEVEL: tfexp does)
    console = result.stdout + result.stderr
    assert not re.search(r"^[IWEF]\d{4} |absl::InitializeLog|cpu_feature_guard|Creating initial MLflow", console, re.M), console
    assert ".staging" not in console and "_DefaultDistributionStrategy" not in console, console
    assert "strategy=default: one device, no distribution" in console
    # ... and the link opens the UI's model-training view, not its GenAI view
    assert f"/#/experiments/{run.info.experiment_id}/runs/{run.info.run_id}?workflowType=machine_learning" in result.stderr

    (tb_dir,) = (tmp_path / "outputs").glob("*/*/tensorboard")
    events = EventAccumulator(str(tb_dir), size_guidance={"tensors": 0})
    events.Reload()
    tags = set(events.Tags()["tensors"])
    assert {"loss", "val_accuracy", "test_accuracy"} <= tags
    assert events.Tensors("val_accuracy")[0].step == 0


@pytest.mark.slow
def test_overrides_from_the_issue_work(tmp_path):
    result = run_cli(
        ["model=cnn", "data=synthetic", "trainer.epochs=3", "trainer.batch_size=32", "seed=7",
         "debug=fast", "debug.trainer.epochs=3", "tracking.log_model=false"],
        cwd=tmp_path,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    (run,) = mlflow_runs(tmp_path)
    assert run.data.params["model.name"] == "cnn" and run.data.params["seed"] == "7"
    history = MlflowClient(store_uri(tmp_path)).get_metric_history(run.info.run_id, "val_loss")
    assert [m.step for m in history] == [0, 1, 2]


@pytest.mark.slow
def test_run_with_a_raising_installed_plugin_ends_failed(tmp_path):
    site = write_plugin_dist(
        tmp_path / "site",
        "exploding-plugin",
        "exploding_plugin",
        "from tfexp import hookimpl\n\n@hookimpl\ndef tfexp_after_fit(run, model, history):\n    raise RuntimeError('boom from a plugin')\n",
    )
    result = run_cli(["debug=fast", "tracking.log_model=false"], cwd=tmp_path, env={"PYTHONPATH": str(site)})
    assert result.returncode == 1
    blame = "RuntimeError: boom from a plugin (raised in plugin exploding_plugin (exploding-plugin 1.0))"
    assert blame in result.stderr and "Traceback" not in result.stderr
    (run,) = mlflow_runs(tmp_path)
    assert run.info.status == "FAILED" and run.data.tags["tfexp.error"] == blame
    assert "error/traceback.txt" in artifact_paths(tmp_path, run.info.run_id)
    (log_file,) = (tmp_path / "outputs").glob("*/*/tfexp.log")
    assert "Traceback" in log_file.read_text()


def test_help_has_examples_and_no_internal_groups(tmp_path):
    out = subprocess.run([sys.executable, "-m", "tfexp", "--help"], cwd=tmp_path, capture_output=True, text=True, check=True).stdout
    assert out.startswith("tfexp: ") and out.count("  python -m tfexp") >= 5
    assert "experiment: baseline, distill" in out and "schema/" not in out


@pytest.mark.parametrize("preset", ["experiment=baseline", "+experiment=baseline"])
def test_presets_work_with_and_without_plus(tmp_path, preset):
    out = subprocess.run([sys.executable, "-m", "tfexp", preset, "--cfg", "job"], cwd=tmp_path, capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert "experiment_name: baseline" in out.stdout and "epochs: 30" in out.stdout


def test_misspelled_key_suggests_the_real_one(tmp_path):
    out = subprocess.run([sys.executable, "-m", "tfexp", "trainer.epoch=3", "debug=fast"], cwd=tmp_path, capture_output=True, text=True)
    assert out.returncode == 1 and "trainer.epoch: did you mean trainer.epochs?" in out.stderr
