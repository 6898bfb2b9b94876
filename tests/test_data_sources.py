"""CSV, Parquet, image-folder and TFDS sources on files the tests write, end to end
through the runner, and their bad inputs: one clear line, and a started run ends FAILED."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from tfexp_files.optional import require
from tfexp_files.tabular import load_csv, load_parquet
from tfexp_files.tfds import load as load_tfds

from tfexp.errors import ConfigError
from tfexp.testing import compose, mlflow_runs, run_cli, tiny_run

SIZES = {"train": 240, "val": 60, "test": 60}
COLUMNS = ["a", "b", "c", "d"]


def table(n: int, seed: int):
    """Four features, a label 0..2 that depends on them (so a run learns something)."""
    import pandas as pd

    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, len(COLUMNS))).astype("float32")
    frame = pd.DataFrame(x, columns=COLUMNS)
    frame["y"] = (x[:, 0] > 0).astype(int) + (x[:, 1] > 0.5).astype(int)
    return frame


def write_tables(root: Path, ext: str, files_per_split: int = 2) -> list[str]:
    """``<split>-<k>.<ext>`` files; returns the overrides that point ``data=<ext>`` at them."""
    root.mkdir(parents=True, exist_ok=True)
    for s, (split, n) in enumerate(SIZES.items()):
        for k in range(files_per_split):
            frame, path = table(n // files_per_split, seed=10 * s + k), root / f"{split}-{k}.{ext}"
            frame.to_csv(path, index=False) if ext == "csv" else frame.to_parquet(path, row_group_size=32)
    return [f"data={ext}", *(f"data.{split}={root}/{split}-*.{ext}" for split in SIZES), "data.label=y", "data.num_classes=3"]


def write_image_folder(root: Path, classes=("circle", "square")) -> Path:
    """``root/<split>/<class>/<i>.png|jpg``: small RGB images of two sizes (resized on read)."""
    from PIL import Image

    rng = np.random.default_rng(0)
    for split, n in (("train", 24), ("val", 6), ("test", 6)):
        for c, name in enumerate(classes):
            folder = root / split / name
            folder.mkdir(parents=True)
            for i in range(n):
                size = (12, 10) if i % 2 else (8, 8)
                pixels = rng.integers(0, 60, (*size, 3)) + 160 * c
                Image.fromarray(pixels.astype("uint8")).save(folder / f"{i}.{'jpg' if i % 3 == 0 else 'png'}")
    return root


def build_tfds(data_dir: Path) -> None:
    """A tiny image-classification data set prepared in ``data_dir``, no network."""
    import tensorflow as tf
    import tensorflow_datasets as tfds

    rng = np.random.default_rng(0)

    def split(n):
        labels = rng.integers(0, 3, n)
        images = (rng.integers(0, 60, (n, 8, 8, 1)) + 90 * labels[:, None, None, None]).astype("uint8")
        return tf.data.Dataset.from_tensor_slices({"image": images, "label": labels})

    features = tfds.features.FeaturesDict({"image": tfds.features.Image(shape=(8, 8, 1)), "label": tfds.features.ClassLabel(names=["a", "b", "c"])})
    tfds.dataset_builders.store_as_tfds_dataset("tiny_shapes", "1.0.0", features, {"train": split(200), "test": split(40)}, data_dir=str(data_dir))


def finished(tmp_path: Path, overrides: list[str]):
    run = tiny_run(tmp_path, ["tracking.log_model=false", *overrides])
    (record,) = mlflow_runs(tmp_path)
    assert record.info.status == "FINISHED"
    assert {"test_loss", "test_accuracy"} <= set(record.data.metrics)
    return run


def failed(tmp_path: Path, overrides: list[str], match: str) -> str:
    with pytest.raises(ConfigError, match=match) as info:
        tiny_run(tmp_path, ["tracking.log_model=false", *overrides])
    assert [r.info.status for r in mlflow_runs(tmp_path)] == ["FAILED"]
    message = str(info.value)
    assert "\n" not in message
    assert not getattr(info.value, "__notes__", None)  # the user's input, not blamed on the plugin that checked it
    return message


# -- each source, end to end ----------------------------------------------------------


@pytest.mark.slow
def test_csv_trains_from_the_command_line(tmp_path):
    overrides = write_tables(tmp_path / "data", "csv")
    result = run_cli(["debug=fast", "tracking.log_model=false", *overrides, "data.normalize=standardize"], cwd=tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]
    (record,) = mlflow_runs(tmp_path)
    assert record.info.status == "FINISHED" and "test_accuracy" in record.data.metrics


def test_parquet_streams_row_batches_with_sizes_from_the_footers(tmp_path):
    overrides = write_tables(tmp_path / "data", "parquet")
    run = finished(tmp_path, [*overrides, "data.batch_rows=16", "data.features=[d,a,b]"])
    spec = run.data.spec
    assert spec.num_examples == SIZES and spec.input_shape == (3,) and spec.class_names == ("0", "1", "2")
    x, y = next(iter(run.data.dataset("test", batch_size=8)))
    expected = table(SIZES["test"] // 2, seed=20)
    np.testing.assert_allclose(x.numpy(), expected[["d", "a", "b"]].to_numpy()[:8])  # files in order, columns as asked
    assert list(y.numpy()) == list(expected["y"][:8])


def test_csv_and_parquet_read_the_same_rows(tmp_path):
    rows = {}
    for ext, load in (("csv", load_csv), ("parquet", load_parquet)):
        cfg = compose(write_tables(tmp_path / ext, ext)).data
        rows[ext] = [np.concatenate(parts) for parts in zip(*((x.numpy(), y.numpy()) for x, y in load(cfg, 0).dataset("val", batch_size=7)))]
    for csv_part, parquet_part in zip(rows["csv"], rows["parquet"]):
        np.testing.assert_allclose(csv_part, parquet_part, rtol=1e-6)
    assert len(rows["csv"][0]) == SIZES["val"]


def test_image_folder_trains_on_raw_pixels_scaled_by_the_spec(tmp_path):
    root = write_image_folder(tmp_path / "images")
    run = finished(tmp_path, ["data=image_folder", f"data.root={root}", "data.image_size=[8,8]"])
    spec = run.data.spec
    assert spec.class_names == ("circle", "square") and spec.input_shape == (8, 8, 3)
    assert spec.num_examples == {"train": 48, "val": 12, "test": 12}
    raw = run.data.sample("train", 16, raw=True)
    assert raw.shape == (16, 8, 8, 3) and raw.max() > 1 and raw.max() <= 255  # raw pixels: exports take them
    assert run.data.sample("train", 16).max() <= 1


def test_breast_cancer_is_bundled_and_trains_standardized(tmp_path):
    run = finished(tmp_path, ["data=breast_cancer"])
    spec = run.data.spec
    assert spec.class_names == ("malignant", "benign") and spec.input_shape == (30,)
    assert sum(spec.num_examples.values()) == 569
    train = run.data.sample("train", 369)
    np.testing.assert_allclose(train.mean(axis=0), 0, atol=1e-4)  # standardized on the train split
    assert run.data.sample("train", 4, raw=True).max() > 100  # the export takes raw measurements (areas in the hundreds)


def test_tfds_reads_a_prepared_data_dir(tmp_path):
    build_tfds(tmp_path / "tfds")
    run = finished(tmp_path, ["data=tfds", "data.dataset=tiny_shapes", f"data.data_dir={tmp_path / 'tfds'}", "data.input=image", "data.label=label"])
    spec = run.data.spec
    assert spec.class_names == ("a", "b", "c") and spec.input_shape == (8, 8, 1)
    assert spec.num_examples == {"train": 180, "val": 20, "test": 40} and spec.preprocessing.scale == pytest.approx(1 / 255)


# -- bad input ------------------------------------------------------------------------


def test_a_glob_that_matches_nothing_names_it(tmp_path):
    overrides = write_tables(tmp_path / "data", "csv")
    failed(tmp_path, [*overrides, "data.val=nowhere/*.csv"], r"data\.val=nowhere/\*\.csv matches no file")


@pytest.mark.parametrize("ext", ["csv", "parquet"])
def test_a_label_column_that_does_not_exist_lists_the_columns(tmp_path, ext):
    overrides = write_tables(tmp_path / "data", ext)
    failed(tmp_path, [*overrides, "data.label=lable"], "data.label names 'lable', not a column of .*train-0.* its columns are: a, b, c, d, y")


def test_an_empty_csv_split_is_named(tmp_path):
    overrides = write_tables(tmp_path / "data", "csv", files_per_split=1)
    (tmp_path / "data" / "test-0.csv").write_text("a,b,c,d,y\n")
    failed(tmp_path, overrides, "the test split is empty")


def test_an_empty_image_split_is_named(tmp_path):
    root = write_image_folder(tmp_path / "images")
    for image in (root / "val").glob("*/*"):
        image.unlink()
    failed(tmp_path, ["data=image_folder", f"data.root={root}"], "the val split is empty: .*val/<class>/ holds no")


def test_a_label_outside_num_classes_names_the_file(tmp_path):
    overrides = write_tables(tmp_path / "data", "csv", files_per_split=1)
    path = tmp_path / "data" / "test-0.csv"
    path.write_text(path.read_text().replace(",0\n", ",7\n", 1))
    message = failed(tmp_path, overrides, r"label 'y' is 7 in a record, outside 0\.\.2")
    assert "test-0.csv" in message


def test_a_missing_tfds_data_dir_says_how_to_prepare_it(tmp_path):
    message = failed(tmp_path, ["data=tfds", "data.dataset=mnist", f"data.data_dir={tmp_path / 'nope'}"], "data.data_dir=.*nope is not a folder")
    assert "tfds build mnist --data_dir=" in message


def test_classes_are_declared_before_anything_starts(tmp_path):
    overrides = [o for o in write_tables(tmp_path / "data", "csv") if not o.startswith("data.num_classes")]
    with pytest.raises(ConfigError, match="data.num_classes=<K>"):
        tiny_run(tmp_path, overrides)
    assert not (tmp_path / "mlflow.db").exists() or mlflow_runs(tmp_path) == []


def test_a_data_set_not_prepared_in_data_dir_lists_what_is_there(tmp_path):
    (tmp_path / "other_set").mkdir()
    cfg = compose(["data=tfds", "data.dataset=no_such_set", f"data.data_dir={tmp_path}"]).data
    with pytest.raises(ConfigError, match=r"data.dataset=no_such_set is not prepared in .* \(it holds: other_set\): prepare it with `tfds build no_such_set"):
        load_tfds(cfg, 0)


def test_a_missing_optional_dependency_says_which_extra():
    with pytest.raises(ConfigError, match=r'data=parquet needs no_such_module, which is not installed .*: pip install "tfexp\[files\]"'):
        require("no_such_module", "parquet")
