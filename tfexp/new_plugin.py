"""``python -m tfexp.new_plugin NAME``: write a plugin package skeleton that passes its test.

The skeleton has a pyproject with both entry points (``tfexp`` for hooks, ``tfexp.conf``
for config groups), one model with its config, and a test written with ``tfexp.testing``.
"""

from __future__ import annotations

import argparse
import keyword
import re
import sys
from pathlib import Path

PYPROJECT = """\
[build-system]
requires = ["setuptools>=68"]
build-backend = "setuptools.build_meta"

[project]
name = "tfexp-{slug}"
version = "0.1.0"
description = "A tfexp plugin."
requires-python = ">=3.11"
dependencies = ["tfexp"]

[project.entry-points.tfexp]
{module} = "{module}"

[project.entry-points."tfexp.conf"]
{module} = "{module}.conf"

[tool.setuptools.packages.find]
include = ["{module}*"]

[tool.setuptools.package-data]
{module} = ["conf/**/*.yaml"]
"""

MODULE = '''\
"""tfexp plugin {slug}: registers the model ``{model}``."""

from tfexp import hookimpl
from tfexp.components import ModelSpec


def build_model(cfg, input_shape, num_outputs):
    import keras  # imported lazily: tfexp imports plugins to list them

    inputs = keras.Input(shape=input_shape)
    x = keras.layers.Dense(cfg.units, activation="relu")(keras.layers.Flatten()(inputs))
    return keras.Model(inputs, keras.layers.Dense(num_outputs)(x), name="{model}")


@hookimpl
def tfexp_register_models():
    return [ModelSpec("{model}", build_model, "one hidden layer (model.units)")]
'''

MODEL_YAML = """\
name: {model}
units: 32
"""

TEST = '''\
from tfexp.testing import compose, mlflow_runs, tiny_run


def test_model_config_is_found():
    assert compose(["model={model}"]).model.units == 32


def test_tiny_run_finishes(tmp_path):
    run = tiny_run(tmp_path, ["model={model}"])
    (tracked,) = mlflow_runs(tmp_path)
    assert tracked.info.status == "FINISHED" and run.model.name == "{model}"
'''


def scaffold(name: str, directory: Path) -> Path:
    """Write ``tfexp-<name>/`` under ``directory`` and return its path."""
    slug = re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")
    module = "tfexp_" + slug.replace("-", "_")
    if not slug or not module.isidentifier() or keyword.iskeyword(module):
        raise ValueError(f"{name!r} does not make a valid package name; use letters, digits and dashes")
    root = directory / f"tfexp-{slug}"
    if root.exists():
        raise FileExistsError(f"{root} already exists; choose another name or remove it")
    model = f"{module.removeprefix('tfexp_')}_net"
    values = {"slug": slug, "module": module, "model": model}
    files = {
        "pyproject.toml": PYPROJECT,
        f"{module}/__init__.py": MODULE,
        f"{module}/conf/__init__.py": "",
        f"{module}/conf/model/{model}.yaml": MODEL_YAML,
        "tests/test_plugin.py": TEST,
    }
    for relative, template in files.items():
        path = root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(template.format(**values))
    return root


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tfexp.new_plugin", description=__doc__.splitlines()[0])
    parser.add_argument("name", help="plugin name, e.g. 'my-models' (package tfexp-my-models)")
    parser.add_argument("--dir", type=Path, default=Path.cwd(), help="where to create it (default: here)")
    args = parser.parse_args(argv)
    try:
        root = scaffold(args.name, args.dir)
    except (ValueError, FileExistsError) as exc:
        print(f"tfexp.new_plugin: error: {exc}", file=sys.stderr)
        return 1
    print(f"Created {root}\nNext: pip install -e {root} && pytest {root / 'tests'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
