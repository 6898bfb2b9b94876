"""``model=auto``: the CNN for images and sequences, the MLP for tabular rows, and runs that say
which one they trained."""

from __future__ import annotations

import pytest

from tfexp.errors import ConfigError
from tfexp.plugins import build_plugin_manager, get_registry
from tfexp.testing import compose, mlflow_runs, run_cli


def build(overrides: list[str], input_shape: tuple[int, ...], num_outputs: int = 10):
    cfg = compose(overrides)
    return get_registry(build_plugin_manager()).get("model", cfg.model.name).build(cfg.model, input_shape, num_outputs)


def layer_types(model) -> set[str]:
    return {type(layer).__name__ for layer in model.layers}


@pytest.mark.parametrize("input_shape,name,conv", [((8, 8, 1), "cnn", "Conv2D"), ((64, 1), "cnn", "Conv1D"), ((64, 3), "cnn", "Conv1D"), ((30,), "mlp", None)])
def test_auto_builds_a_cnn_for_images_and_sequences_and_an_mlp_for_tabular_rows(input_shape, name, conv):
    model = build(["model=auto"], input_shape)
    assert model.name == name and model.output_shape == (None, 10)
    assert {"Conv1D", "Conv2D"} & layer_types(model) == ({conv} if conv else set())


@pytest.mark.parametrize("input_shape,conv,channels", [((8, 8, 1), "Conv2D", 1), ((8, 8), "Conv1D", 8), ((30,), "Conv1D", 1)])
def test_model_cnn_reads_inputs_by_rank_as_auto_does(input_shape, conv, channels):
    """(H, W) is a sequence of H steps with W channels, never a grayscale image (docs/data.md)."""
    model = build(["model=cnn"], input_shape)
    first = next(layer for layer in model.layers if type(layer).__name__.startswith("Conv"))
    assert type(first).__name__ == conv and first.kernel.shape[-2] == channels and model.output_shape == (None, 10)


def architecture(model) -> list:
    """Each layer's type and settings, without the names Keras numbers per session."""
    return [(type(layer).__name__, {k: v for k, v in layer.get_config().items() if k != "name"}) for layer in model.layers]


def test_the_semisup_preset_builds_on_digits_exactly_the_cnn_it_built_with_model_cnn():
    """The results books measured the preset's model=cnn on digits: auto must not change it."""
    auto = build(["+experiment=semisup"], (8, 8, 1))
    assert architecture(auto) == architecture(build(["+experiment=semisup", "model=cnn"], (8, 8, 1)))
    assert auto.count_params() == build(["model=cnn"], (8, 8, 1)).count_params()


def test_the_semisup_preset_builds_an_mlp_on_breast_cancer():
    cfg = compose(["+experiment=semisup", "data=breast_cancer"])
    registry = get_registry(build_plugin_manager())
    data = registry.get("data", cfg.data.name).load(cfg.data, cfg.seed)
    assert data.spec.input_shape == (30,)
    model = registry.get("model", cfg.model.name).build(cfg.model, data.spec.input_shape, data.spec.num_outputs)
    assert model.name == "mlp" and [layer.units for layer in model.layers if type(layer).__name__ == "Dense"] == [256, 128, 2]


def test_a_kind_without_a_model_is_one_line_naming_the_key(tmp_path):
    message = "model.tabular=None cannot be built for tabular inputs: model=auto builds cnn or mlp from model.tabular"
    with pytest.raises(ConfigError, match=f"^{message}"):
        build(["model=auto", "model.tabular=null"], (30,))
    result = run_cli(["+experiment=semisup", "model.tabular=null"], cwd=tmp_path)  # on digits too, before any run starts
    assert result.returncode == 1 and message in result.stderr and "Traceback" not in result.stderr
    assert not (tmp_path / "mlflow.db").exists()


def test_a_semisup_run_on_breast_cancer_says_in_mlflow_that_it_trained_an_mlp(tmp_path):
    result = run_cli(["+experiment=semisup", "data=breast_cancer", "debug=fast", "technique.rounds=1", "trainer.verbose=0",
                      "tracking.log_model=false"], cwd=tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]
    (run,) = mlflow_runs(tmp_path, "semisup")
    assert run.info.status == "FINISHED"
    assert (run.data.params["model.name"], run.data.params["model.chosen"], run.data.params["model.input_kind"]) == ("auto", "mlp", "tabular")
    assert run.data.params["model.tabular.hidden_units"] == "[256, 128]"
