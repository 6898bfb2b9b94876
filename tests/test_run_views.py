"""What a user sees of one classification run in the MLflow UI and TensorBoard, read back
from the MLflow store and with TensorBoard's own HParams backend (issue 18)."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest
from mlflow import MlflowClient

from tfexp.testing import FAST, compose, store_uri

OVERRIDES = ["seed=3", "debug.trainer.epochs=3", "tracking.mlflow.system_metrics_interval_s=0.2"]


def run_in_process(directory: Path, overrides: list[str]):
    """A run as ``python -m tfexp *overrides`` makes it (the overrides are the swept values)."""
    from tfexp.plugins import build_plugin_manager
    from tfexp.runner import run_experiment

    cfg = compose([*FAST, f"tracking.uri={store_uri(directory)}", *overrides])
    return run_experiment(cfg, directory / "outputs", pm=build_plugin_manager(()), overrides=overrides)


@pytest.fixture(scope="module")
def images(tmp_path_factory):
    """digits as 8x8 images, the MLP, three epochs: (run, its MLflow run, client)."""
    directory = tmp_path_factory.mktemp("images")
    run = run_in_process(directory, OVERRIDES)
    client = MlflowClient(store_uri(directory))
    return run, client.get_run(run.tracker_refs["mlflow"]), client


def read_csv(client, run_id: str, path: str, tmp_path: Path) -> list[dict[str, str]]:
    with open(client.download_artifacts(run_id, path, str(tmp_path))) as f:
        return list(csv.DictReader(f))


def test_the_logged_models_page_shows_the_final_metrics(images):
    run, tracked, client = images
    (output,) = tracked.outputs.model_outputs
    on_model = {m.key: m for m in client.get_logged_model(output.model_id).metrics}
    assert on_model["test_accuracy"].value == pytest.approx(run.test_metrics["test_accuracy"])
    assert on_model["val_accuracy"].step == 2 and on_model["val_accuracy"].value == pytest.approx(run.history["val_accuracy"][-1])
    assert on_model["objective"].value == pytest.approx(run.objective)
    assert not [key for key in on_model if key.startswith("system/")]
    # linking the model adds no points to the run's curves
    assert [m.step for m in client.get_metric_history(tracked.info.run_id, "val_accuracy")] == [0, 1, 2]


def test_system_metrics_are_sampled_while_training(images):
    _, tracked, client = images
    assert {"system/cpu_utilization_percentage", "system/system_memory_usage_megabytes"} <= set(tracked.data.metrics)
    history = client.get_metric_history(tracked.info.run_id, "system/cpu_utilization_percentage")
    assert len(history) >= 2 and all(0 <= m.value <= 100 * 64 for m in history)


def test_compare_view_files_sit_at_the_artifact_root(images):
    """MLflow's compare view shows the top-level files that every compared run has."""
    _, tracked, client = images
    top_level = {a.path for a in client.list_artifacts(tracked.info.run_id) if not a.is_dir}
    assert {"confusion_matrix.png", "per_class_metrics.csv", "sample_predictions.png", "model_summary.txt"} <= top_level


def test_per_class_table_has_a_row_per_class(images, tmp_path):
    run, tracked, client = images
    rows = read_csv(client, tracked.info.run_id, "per_class_metrics.csv", tmp_path)
    assert [row["class"] for row in rows] == [str(c) for c in range(10)]
    assert sum(int(row["support"]) for row in rows) == run.data.spec.size("test")
    assert all(0 <= float(row[k]) <= 1 for row in rows for k in ("precision", "recall", "f1"))


def test_hparams_dashboard_shows_the_objective_first(images):
    """TensorBoard's HParams backend, as the dashboard asks it, over the run's event log."""
    from tensorboard import context as request
    from tensorboard.backend.event_processing import data_provider, plugin_event_multiplexer
    from tensorboard.plugins import base_plugin
    from tensorboard.plugins.hparams import backend_context

    run, _, _ = images
    multiplexer = plugin_event_multiplexer.EventMultiplexer()
    multiplexer.AddRunsFromDirectory(str(run.output_dir / "tensorboard"))
    multiplexer.Reload()
    provider = data_provider.MultiplexerDataProvider(multiplexer, str(run.output_dir / "tensorboard"))
    context = backend_context.Context(base_plugin.TBContext(data_provider=provider, multiplexer=multiplexer))
    ctx = request.RequestContext()
    experiment = context.experiment_from_metadata(
        ctx, "", True, context.hparams_metadata(ctx, ""), context.hparams_from_data_provider(ctx, "", 0),
    )
    columns = [(m.name.tag, m.display_name) for m in experiment.metric_infos]
    assert columns[0] == ("objective", "objective (val_accuracy)")
    assert {"test_accuracy", "val_accuracy"} <= {tag for tag, _ in columns}
    assert not [tag for tag, _ in columns if tag.startswith(("export/", "system/", "learning_rate"))]
    assert {h.name for h in experiment.hparam_infos} == {"seed", "debug.trainer.epochs", "tracking.mlflow.system_metrics_interval_s"}


@pytest.mark.slow
def test_tabular_runs_get_a_table_of_sample_predictions(tmp_path):
    run = run_in_process(tmp_path, ["data=synthetic", "tracking.log_model=false", "tracking.mlflow.system_metrics=false"])
    client = MlflowClient(store_uri(tmp_path))
    run_id = run.tracker_refs["mlflow"]
    rows = read_csv(client, run_id, "sample_predictions.csv", tmp_path)
    assert len(rows) == 16 and {"true", "predicted", "probability", "correct", "x0"} <= set(rows[0])
    assert all(row["correct"] == str(row["true"] == row["predicted"]) for row in rows)
    assert not [key for key in client.get_run(run_id).data.metrics if key.startswith("system/")]  # switched off


@pytest.mark.parametrize("shape,lines", [((8, 8, 1), 0), ((8, 8), 8), ((20, 3), 3)])
def test_sample_predictions_draw_images_as_pictures_and_sequences_as_lines(shape, lines):
    """By the rank rule (docs/data.md): an (H, W) input is a sequence of W channels, drawn as lines."""
    import numpy as np

    from tfexp.classification import DRAW, samples_figure
    from tfexp.data.spec import input_kind

    inputs = np.random.default_rng(0).random((5, *shape))
    figure = samples_figure(inputs, np.zeros(5, int), np.full((5, 2), 0.5), ["a", "b"], DRAW[input_kind(shape)])
    drawn = [ax for ax in figure.axes if ax.images or ax.lines]
    assert len(drawn) == 5
    assert all((len(ax.images), len(ax.lines)) == ((0, lines) if lines else (1, 0)) for ax in drawn)


def test_only_measurements_of_training_are_metrics(images):
    """Export sizes and versions are tags, the parameter count a param: the first chart
    section stays the training curves."""
    _, tracked, _ = images
    assert not [key for key in tracked.data.metrics if key.startswith("export/")]
    assert {"tfexp.export.version", "tfexp.export.keras_bytes"} <= set(tracked.data.tags)
    assert int(tracked.data.params["model.params"]) > 0
    assert "learning_rate" in tracked.data.metrics  # per epoch, beside loss and accuracy
