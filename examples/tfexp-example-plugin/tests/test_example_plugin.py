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


def test_tiny_run_logs_the_plugins_metric(tmp_path):
    run = tiny_run(tmp_path, ["model=example_resmlp", "data=example_moons"])
    (tracked,) = mlflow_runs(tmp_path)
    assert tracked.info.status == "FINISHED"
    assert tracked.data.metrics["example/trainable_params"] == run.model.count_params()
    assert run.datasets.class_names == ["upper", "lower"]


def test_command_line_run(tmp_path):
    result = run_cli(["model=example_resmlp", "data=example_moons", "debug=fast"], cwd=tmp_path)
    assert result.returncode == 0, result.stderr[-2000:]
    (tracked,) = mlflow_runs(tmp_path)
    assert tracked.data.params["model.name"] == "example_resmlp" and "test_accuracy" in tracked.data.metrics
