"""The plugin manager and registry: discovery, conflicts, unknown names, bad plugins."""

from __future__ import annotations

import inspect
import subprocess
import sys

import pytest

from tfexp import hookimpl, hookspecs
from tfexp.components import ModelSpec
from tfexp.errors import ComponentConflictError, PluginLoadError, UnknownComponentError
from tfexp.plugins import build_plugin_manager, format_plugin_listing, get_registry

BUILTIN_COMPONENTS = {
    "model": ["auto", "cnn", "mlp"],
    "data": ["digits", "synthetic"],
    "strategy": ["default"],
    "technique": ["supervised"],
}


def test_builtins_are_registered_through_entry_points_with_their_distribution():
    pm = build_plugin_manager()
    registry = get_registry(pm)
    for kind, names in BUILTIN_COMPONENTS.items():
        assert set(names) <= set(registry.names(kind))
    assert registry.entry("model", "mlp").provider.startswith("keras_models (tfexp ")
    assert pm.distributions["mlflow_tracker"].name == "tfexp"


class ExtraMLP:
    @hookimpl
    def tfexp_register_models(self):
        return [ModelSpec("mlp", lambda *a: None)]


def test_duplicate_component_names_both_providers():
    pm = build_plugin_manager((ExtraMLP(),))
    with pytest.raises(ComponentConflictError) as info:
        get_registry(pm)
    message = str(info.value)
    assert "'mlp'" in message and "keras_models (tfexp" in message and "ExtraMLP" in message


def test_duplicate_between_two_installed_distributions(plugin_dist):
    source = """
        from tfexp import hookimpl
        from tfexp.components import ModelSpec

        @hookimpl
        def tfexp_register_models():
            return [ModelSpec("tiny", lambda *a: None)]
    """
    plugin_dist("acme-models", "acme_models", source)
    plugin_dist("other-models", "other_models", source)
    with pytest.raises(ComponentConflictError) as info:
        get_registry(build_plugin_manager())
    assert "acme-models 1.0" in str(info.value) and "other-models 1.0" in str(info.value)


def test_unknown_name_lists_known_names():
    registry = get_registry(build_plugin_manager())
    with pytest.raises(UnknownComponentError) as info:
        registry.get("model", "resnet9000")
    assert "resnet9000" in str(info.value) and "cnn, " in str(info.value) and ", mlp" in str(info.value)


def test_plugin_that_fails_to_import_is_named_with_its_distribution(plugin_dist):
    plugin_dist("broken-plugin", "broken_plugin", "raise ImportError('needs libfoo')\n")
    with pytest.raises(PluginLoadError) as info:
        build_plugin_manager()
    message = str(info.value)
    assert "broken-plugin 1.0" in message and "needs libfoo" in message and "TFEXP_DISABLE_PLUGINS=broken_plugin" in message


def test_disabled_plugin_is_not_loaded(plugin_dist, monkeypatch):
    plugin_dist("broken-plugin", "broken_plugin", "raise ImportError('needs libfoo')\n")
    monkeypatch.setenv("TFEXP_DISABLE_PLUGINS", "broken_plugin, keras_models")
    pm = build_plugin_manager()
    assert pm.get_plugin("broken_plugin") is None
    assert not {"mlp", "cnn"} & set(get_registry(pm).names("model"))


def test_misspelled_hook_is_rejected_at_load(plugin_dist):
    plugin_dist("typo-plugin", "typo_plugin", "from tfexp import hookimpl\n\n@hookimpl\ndef tfexp_after_fitt(run):\n    pass\n")
    with pytest.raises(PluginLoadError) as info:
        build_plugin_manager()
    assert "tfexp_after_fitt" in str(info.value) and "typo-plugin 1.0" in str(info.value)


def test_wrong_spec_type_is_reported():
    class Bad:
        @hookimpl
        def tfexp_register_datasets(self):
            return [ModelSpec("oops", lambda *a: None)]

    with pytest.raises(TypeError, match="expected DatasetSpec"):
        get_registry(build_plugin_manager((Bad(),), load_installed=False))


@pytest.mark.parametrize("name", ["", "  "])
def test_empty_component_names_are_refused_at_registration(name):
    class Unnamed:
        @hookimpl
        def tfexp_register_models(self):
            return [ModelSpec(name, lambda *a: None)]

    with pytest.raises(TypeError, match=f"registered a model with the name {name!r}: give it a non-empty name"):
        get_registry(build_plugin_manager((Unnamed(),), load_installed=False))


def test_listing_shows_distribution_version_and_components():
    text = format_plugin_listing(build_plugin_manager())
    assert "keras_models (tfexp " in text and "model: auto, cnn, mlp" in text
    assert "sklearn_data (tfexp " in text and "data: breast_cancer, digits, synthetic" in text


def test_listing_cli():
    out = subprocess.run([sys.executable, "-m", "tfexp.plugins"], capture_output=True, text=True, check=True).stdout
    assert "technique: " in out and "supervised" in out
    assert any(line.strip().startswith("provides  strategy: ") and "default" in line for line in out.splitlines())


def test_every_hookspec_is_typed_and_documented():
    specs = [f for name, f in inspect.getmembers(hookspecs, inspect.isfunction) if name.startswith("tfexp_")]
    assert len(specs) >= 20
    for spec in specs:
        assert spec.__doc__ and spec.__doc__.strip(), spec.__name__
        assert "return" in spec.__annotations__, spec.__name__


def test_every_hookspec_is_in_the_author_guide_with_its_signature():
    from pathlib import Path

    guide = (Path(__file__).parents[1] / "docs" / "plugins.md").read_text()
    for name, spec in inspect.getmembers(hookspecs, inspect.isfunction):
        if name.startswith("tfexp_"):
            params = ", ".join(inspect.signature(spec).parameters)
            assert f"#### `{name}({params}) -> " in guide, f"{name}({params}) is not documented in docs/plugins.md"
            firstresult = spec.tfexp_spec["firstresult"]
            heading = next(line for line in guide.splitlines() if line.startswith(f"#### `{name}("))
            assert heading.endswith("firstresult") == firstresult, heading
