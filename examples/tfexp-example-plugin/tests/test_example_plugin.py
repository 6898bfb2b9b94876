"""The example plugin tested the way a plugin author would, with ``tfexp.testing``."""

from __future__ import annotations

import pytest

from tfexp.errors import ConfigError
from tfexp.plugins import build_plugin_manager, get_registry
from tfexp.testing import compose, mlflow_runs, run_cli, tiny_run


def test_components_are_registered_by_this_distribution():
    registry = get_registry(build_plugin_manager())
    assert registry.entry("model", "example_resmlp").provider == "example (tfexp-example-plugin 0.1.0)"
    assert registry.entry("data", "example_moons").provider == "example (tfexp-example-plugin 0.1.0)"


def test_config_groups_come_with_the_package():
    cfg = compose(["model=example_resmlp", "data=example_moons"])
    assert cfg.model.width == 64 and cfg.data.noise == 0.2


def test_typo_in_this_plugins_config_is_a_clear_error(tmp_path):
    with pytest.raises(ConfigError, match=r"model\.widht"):
        tiny_run(tmp_path, ["model=example_resmlp", "+model.widht=3"])


def test_tiny_run_logs_the_plugins_tag(tmp_path):
    run = tiny_run(tmp_path, ["model=example_resmlp", "data=example_moons"])
    (tracked,) = mlflow_runs(tmp_path)
    assert tracked.info.status == "FINISHED"
    assert tracked.data.tags["example.trainable_params"] == str(run.model.count_params())
    assert not [k for k in tracked.data.metrics if k.startswith("example/")]
    assert run.data.spec.class_names == ("upper", "lower")


def test_arrays_from_the_loader_flow_through_the_data_contract(tmp_path):
    """``load_moons`` returns ``Datasets(...)`` as loaders always did; the run reads it
    through the streaming contract (spec, tf.data batches, one predict pass)."""
    import numpy as np

    from tfexp.data import Datasets, predict

    run = tiny_run(tmp_path, ["model=example_resmlp", "data=example_moons", "tracking=none"])
    assert isinstance(run.data, Datasets) and run.data.spec.task == "multiclass" and run.data.spec.input_shape == (2,)
    assert dict(run.data.spec.num_examples) == {"train": 650, "val": 150, "test": 200}
    x, y = next(iter(run.dataset("train", training=True)))
    assert x.shape == (32, 2) and set(np.unique(y)) <= {0, 1}
    outputs, targets = predict(run.model, run.data, "test")
    np.testing.assert_array_equal(targets, run.data.y_test)  # the loader's arrays, in order
    np.testing.assert_allclose(outputs, run.model.predict(run.data.x_test, verbose=0), atol=1e-5)


def test_command_line_run(tmp_path):
    result = run_cli(["model=example_resmlp", "data=example_moons", "debug=fast"], cwd=tmp_path)
    assert result.returncode == 0, result.stderr[-2000:]
    (tracked,) = mlflow_runs(tmp_path)
    assert tracked.data.params["model.name"] == "example_resmlp" and "test_accuracy" in tracked.data.metrics
