"""``data=tfrecord``: TFRecord files the tests write (plain and GZIP), read by real tf.data
readers; ``python -m tfexp.data convert``; bad inputs in one line; MLflow's run input."""

from __future__ import annotations

import numpy as np
import pytest
from mlflow import MlflowClient

from tfexp.cli_args import hydra_overrides
from tfexp.data.convert import serialize, write_shards
from tfexp.data.tfrecord import FeatureType
from tfexp.errors import ConfigError
from tfexp.testing import compose, mlflow_runs, run_cli, store_uri, tiny_run

TYPES = {"x": FeatureType("float32", (64,)), "y": FeatureType("int64")}
FEATURES = ["data.features.x=float32[64]", "data.label=y", "data.num_classes=10"]


def digits(split: str):
    from sklearn.datasets import load_digits

    bunch = load_digits()
    part = {"train": slice(0, 1200), "val": slice(1200, 1500), "test": slice(1500, None)}[split]
    return bunch.data[part].astype("float32") / 16, bunch.target[part]


def write(directory, split: str, x, y, shards: int = 2, suffix: str = ".tfrecord", label: str = "y") -> list[str]:
    directory.mkdir(parents=True, exist_ok=True)
    paths = [str(directory / f"{split}-{i}{suffix}") for i in range(shards)]
    write_shards(serialize({"x": x, label: y}, {"x": TYPES["x"], label: TYPES["y"]}), paths, None)
    return paths


def write_digits(directory) -> list[str]:
    """Plain train shards, GZIP val and test shards (compression from the .gz suffix)."""
    for split in ("train", "val", "test"):
        write(directory, split, *digits(split), suffix=".tfrecord" if split == "train" else ".tfrecord.gz")
    return [f"data.{s}={directory}/{s}-*.tfrecord{'' if s == 'train' else '.gz'}" for s in ("train", "val", "test")]


def test_feature_types_read_as_written():
    assert FeatureType.parse("float32[8, 8,1]", "k") == FeatureType("float32", (8, 8, 1))
    assert FeatureType.parse("int64[]", "k") == FeatureType.parse("int64", "k") == FeatureType("int64")
    assert str(FeatureType("float32", (64,))) == "float32[64]" and str(FeatureType("string")) == "string"
    for bad in ("float64[3]", "float32[0]", "float32[", "x"):
        with pytest.raises(ConfigError, match=r"data.features.x=.*(not a feature type|dimension)"):
            FeatureType.parse(bad, "data.features.x")


def test_feature_arguments_become_what_hydra_needs():
    assert hydra_overrides(["data.features.x=float32[8,8,1]", "data.features.img=string", "data.label=y"]) == [
        "++data.features.x='float32[8,8,1]'", "++data.features.img='string'", "data.label=y"]
    cfg = compose(hydra_overrides(["data=tfrecord", *FEATURES]))
    assert cfg.data.features == {"x": "float32[64]"}


@pytest.mark.slow
def test_the_documented_command_line_trains_and_logs_the_data_set(tmp_path):
    """The command line as a user types it (subprocess): plain and GZIP shards, a FINISHED
    run with test metrics, the data set recorded as the MLflow run's input."""
    result = run_cli(["data=tfrecord", *write_digits(tmp_path / "data"), *FEATURES, "debug=fast", "tracking.log_model=false"], cwd=tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]
    (run,) = mlflow_runs(tmp_path)
    assert run.info.status == "FINISHED" and "test_accuracy" in run.data.metrics
    (used,) = MlflowClient(store_uri(tmp_path)).get_run(run.info.run_id).inputs.dataset_inputs
    assert used.dataset.name == "tfrecord" and len(used.dataset.digest) == 16
    assert "train-*.tfrecord" in used.dataset.source and '"shape": [-1, 64]' in used.dataset.schema
    assert [t.value for t in used.tags if t.key == "mlflow.data.context"] == ["training"]


def test_convert_then_train_matches_the_array_run(tfexp_env):
    """digits -> TFRecords + schema.json -> a run with no other data setting: same spec,
    raw inputs with the same preprocessing, accuracy within noise of the array run."""
    from tfexp.data.__main__ import main as convert_main

    schema = convert_main(["convert", "data=digits", "out=converted", "shards=3", "compression=GZIP"])
    assert sorted(p.name for p in schema.parent.glob("train-*")) == [f"train-0000{i}-of-00003.tfrecord.gz" for i in range(3)]
    longer = ["tracking=none", "debug.trainer.epochs=8", "debug.trainer.steps_per_epoch=null", "model.dropout=0"]
    arrays = tiny_run(tfexp_env, ["data=digits", *longer])
    files = tiny_run(tfexp_env, ["data=tfrecord", f"data.schema={schema}", *longer])
    a, f = arrays.data.spec, files.data.spec
    assert (f.input_shape, f.class_names, f.num_examples, f.preprocessing.scale) == (a.input_shape, a.class_names, a.num_examples, 1 / 16)
    raw = files.data.sample("test", 4, raw=True)
    assert raw.max() > 1 and np.allclose(raw, np.round(raw), atol=1e-4)  # raw pixel counts 0..16, not scaled
    assert arrays.test_metrics["test_accuracy"] > 0.85
    assert abs(arrays.test_metrics["test_accuracy"] - files.test_metrics["test_accuracy"]) < 0.06  # shuffle order differs


def test_standardize_is_fitted_on_a_bounded_sample(tfexp_env):
    from tfexp_files.tfrecord_source import load

    cfg = compose(hydra_overrides(["data=tfrecord", *write_digits(tfexp_env / "data"), *FEATURES,
                                   "data.normalize=standardize", "data.normalize_sample=500"]))
    data = load(cfg.data, 0)
    x = data.sample("train", 500)
    assert data.spec.preprocessing.scale.shape == (64,)
    assert np.abs(x.mean(axis=0)).max() < 1e-4 and np.abs(x.std(axis=0)[x.std(axis=0) > 0] - 1).max() < 1e-3


def _missing_feature(directory):
    write(directory, "val", *digits("val"), label="z")


def _late_bad_label(directory):
    x, y = digits("val")
    y = y.copy()
    y[250] = 12  # past the first record and the first batches: found while the run reads it
    write(directory, "val", x, y, shards=1)
    for stale in directory.glob("val-1*"):
        stale.unlink()


def _empty_split(directory):
    for path in directory.glob("val-*"):
        path.write_bytes(b"")


# (id, change to the files, extra arguments, the one line expected)
BAD = [
    ("glob matches no file", None, ["data.test=nowhere/test-*.tfrecord"], r"data.test=nowhere/test-\*.tfrecord matches no file \(relative to .*\)"),
    ("record lacks a feature", _missing_feature, [], r"a record lacks feature 'y' \(int64\).* \(in data/val-0.tfrecord\)"),
    ("wrong feature shape", None, ["data.features.x=float32[32]"], r"feature 'x' has 64 value\(s\) in a record, expected shape \[32\].*\(in data/train-0.tfrecord\)"),
    ("label outside num_classes", _late_bad_label, [], r"label 'y' is 12 in a record, outside 0..9 \(data.num_classes=10\).*\(in data/val-0.tfrecord\)"),
    ("empty split", _empty_split, [], r"data.val: the val split is empty: .*val-0.tfrecord.* hold no record"),
    ("feature of another type", None, ["data.features.y=float32[]", "data.task=regression"],
     r"feature 'y': Data types don't match.* \(in data/train-0.tfrecord\)"),
    ("wrong label type", None, ["data.features.y=float32[]"], r"data.features.y=float32\[\]: a multiclass label is one class index"),
]


@pytest.mark.parametrize("change, extra, expected", [case[1:] for case in BAD], ids=[case[0] for case in BAD])
def test_bad_input_fails_the_run_in_one_line(tfexp_env, change, extra, expected):
    directory = tfexp_env / "data"
    splits = [f"data.{s}=data/{s}-*.tfrecord" for s in ("train", "val", "test")]
    for split in ("train", "val", "test"):
        write(directory, split, *digits(split))
    if change:
        change(directory)
    with pytest.raises(ConfigError, match=expected) as failure:
        tiny_run(tfexp_env, hydra_overrides(["data=tfrecord", *splits, *FEATURES, *extra, "tracking.log_model=false"]))
    assert "\n" not in str(failure.value)
    (run,) = mlflow_runs(tfexp_env)
    assert run.info.status == "FAILED"
