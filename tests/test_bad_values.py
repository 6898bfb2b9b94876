"""Values the schema's types let through but no run can use: refused before anything is
opened (no output, no MLflow run), in one line naming the key and the allowed range.

In-process and cheap: composed as the CLI composes them, checked by ``validate`` (the
runner calls it first), so each case costs milliseconds."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest

from tfexp.config import apply_debug, validate
from tfexp.errors import ConfigError
from tfexp.testing import compose

CASES = [
    ("seed negative", ["seed=-1"], "seed=-1 is invalid: expected an integer in [0, 2**32)"),
    ("seed too large", [f"seed={2**32}"], "seed=4294967296 is invalid"),
    ("layer width 0", ["model.hidden_units=[64,0]"], "model.hidden_units=[64, 0] is invalid: expected a list of integers >= 1"),
    ("negative layer width", ["model.hidden_units=[-8]"], "model.hidden_units=[-8]"),
    ("cnn filters 0", ["model=cnn", "model.filters=[0]"], "model.filters=[0] is invalid"),
    ("cnn dense units 0", ["model=cnn", "model.dense_units=0"], "model.dense_units=0 is invalid: expected an integer >= 1"),
    ("cnn kernel 0", ["model=cnn", "model.kernel_size=0"], "model.kernel_size=0 is invalid"),
    ("auto's mlp width 0", ["model=auto", "model.tabular.hidden_units=[0]"], "model.tabular.hidden_units=[0] is invalid"),
    ("auto's cnn dropout 1", ["model=auto", "model.image.dropout=1.0"], "model.image.dropout=1.0 is invalid: expected a rate in [0, 1)"),
    ("dropout 1", ["model.dropout=1.0"], "model.dropout=1.0 is invalid: expected a rate in [0, 1)"),
    ("dropout negative", ["model.dropout=-0.1"], "model.dropout=-0.1 is invalid"),
    ("split fractions sum to 1", ["data.val_fraction=0.5", "data.test_fraction=0.5"], "data.val_fraction=0.5 is invalid: expected a fraction below 1 - data.test_fraction (0.5)"),
    ("fraction 0", ["data.val_fraction=0"], "data.val_fraction=0.0 is invalid: expected a fraction between 0 and 1"),
    ("data too small to split", ["data=synthetic", "data.n_samples=20"], "data.n_samples=20 is invalid: expected at least"),
    ("one class", ["data=synthetic", "data.n_classes=1"], "data.n_classes=1 is invalid: expected an integer >= 2"),
    ("more informative than features", ["data=synthetic", "data.n_informative=30"], "data.n_informative=30 is invalid: expected an integer from 1 to data.n_features (20)"),
    ("too many classes for the informative features", ["data=synthetic", "data.n_informative=2", "data.n_classes=4"], "data.n_classes=4 is invalid: expected at most 2**data.n_informative / 2 = 2"),
    ("empty experiment name", ["tracking.experiment_name=''"], "tracking.experiment_name='' is invalid: expected a non-empty name"),
    ("blank experiment name", ["tracking.experiment_name=' '"], "tracking.experiment_name=' ' is invalid"),
    ("experiment name too long", [f"tracking.experiment_name={'x' * 501}"], "a non-empty name of at most 500 characters"),
]


@pytest.mark.parametrize("args,expected", [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_bad_value_names_its_key_and_range(args, expected):
    with pytest.raises(ConfigError) as error:
        validate(apply_debug(compose(["debug=fast", *args])))
    assert expected in str(error.value) and "\n" not in str(error.value)


def unusable_stores(tmp_path):
    (tmp_path / "notes.db").write_text("not a database")
    (tmp_path / "a_dir.db").mkdir()
    return {
        "not a database": (tmp_path / "notes.db", "it is not an SQLite database"),
        "a directory": (tmp_path / "a_dir.db", "it is a directory"),
        "cannot be written": ("/proc/tfexp/mlflow.db", "/proc/tfexp/mlflow.db: "),
    }


def test_a_store_that_cannot_be_used_is_refused_before_anything_opens(tmp_path):
    from tfexp.plugins import get_plugin_manager

    hook = get_plugin_manager().hook
    for name, (path, expected) in unusable_stores(tmp_path).items():
        with pytest.raises(ConfigError) as error:
            hook.tfexp_configure(cfg=compose([f"tracking.uri=sqlite:///{path}"]))
        message = str(error.value)
        assert f"tracking.uri=sqlite:///{path} cannot be the MLflow store" in message and expected in message, name
        assert "\n" not in message
    hook.tfexp_configure(cfg=compose([f"tracking.uri=sqlite:///{tmp_path / 'new' / 'mlflow.db'}"]))  # a new file is fine


def test_the_smallest_synthetic_set_that_splits_is_accepted():
    message = str(pytest.raises(ConfigError, validate, compose(["data=synthetic", "data.n_samples=20"])).value)
    smallest = int(message.split("expected at least ")[1].split(":")[0])
    validate(compose(["data=synthetic", f"data.n_samples={smallest}"]))
    import numpy as np
    from tfexp_sklearn_data import split_arrays  # the stratified split the data plugin makes

    cfg = compose(["data=synthetic", f"data.n_samples={smallest}"]).data
    y = np.arange(smallest) % cfg.n_classes
    split_arrays(np.zeros((smallest, 2)), y, cfg, seed=0)
    with pytest.raises(ValueError):
        split_arrays(np.zeros((smallest - 1, 2)), y[:-1], cfg, seed=0)


def test_the_multirun_process_console_masks_uri_passwords():
    """The sweep's parent-run lines are logged before any job, under Hydra's own logging
    config (``hydra.hydra_logging``): it masks secrets too. Configured in a child process,
    as Hydra configures the multirun process (``dictConfig`` replaces the process's logging)."""
    script = textwrap.dedent("""
        import logging.config
        from omegaconf import OmegaConf
        from tfexp.config import compose
        logging.config.dictConfig(OmegaConf.to_container(compose([], with_hydra=True).hydra.hydra_logging, resolve=True))
        logging.getLogger("tfexp.mlflow").info("Sweep parent MLflow run %s in %s", "abc", "https://bob:pa55@mlflow.example")
    """)
    console = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120, check=True).stdout
    assert "Sweep parent MLflow run abc in https://bob:***@mlflow.example" in console and "pa55" not in console


def test_an_export_dir_that_cannot_be_written_is_refused_before_training():
    from tfexp_export.config import check_config

    with pytest.raises(ConfigError, match=r"export.dir='/proc/tfexp-export' is invalid: expected a directory tfexp can create and write \("):
        check_config(compose(["export.dir=/proc/tfexp-export"]))
