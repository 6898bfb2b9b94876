"""Data files that parse but cannot train well: NaN/inf values, duplicated column names, a
class that never occurs. One line (or a warning when training still makes sense) naming the
file and the column. Loaded in-process from files the tests write; one case runs end to end."""

from __future__ import annotations

import logging

import numpy as np
import pytest
from test_data_sources import failed, write_tables
from tfexp_files.tabular import load_csv, load_parquet

from tfexp.errors import ConfigError
from tfexp.testing import compose

LOADERS = {"csv": load_csv, "parquet": load_parquet}


def loaded(overrides: list[str]):
    cfg = compose(overrides)
    return LOADERS[cfg.data.name](cfg.data, seed=0)


def rewrite(path, change):
    """Apply ``change`` to the table in ``path`` (a pandas frame) and write it back in its format."""
    import pandas as pd

    csv = path.suffix == ".csv"
    frame = change(pd.read_csv(path) if csv else pd.read_parquet(path))
    frame.to_csv(path, index=False) if csv else frame.to_parquet(path)


@pytest.mark.parametrize("ext", ["csv", "parquet"])
@pytest.mark.parametrize("bad", [np.nan, np.inf], ids=["nan", "inf"])
def test_nan_or_inf_in_a_training_file_names_the_file_and_column(tmp_path, ext, bad):
    overrides = write_tables(tmp_path / "data", ext)
    path = tmp_path / "data" / f"train-1.{ext}"
    rewrite(path, lambda frame: frame.assign(c=np.where(frame.index == 5, bad, frame.c)))
    with pytest.raises(ConfigError) as error:
        loaded(overrides)
    message = str(error.value)
    assert "column 'c' holds NaN, inf or an empty cell in a record" in message and str(path) in message and "\n" not in message


def test_nan_in_a_test_file_fails_the_run_naming_the_file(tmp_path):
    overrides = write_tables(tmp_path / "data", "csv", files_per_split=1)
    path = tmp_path / "data" / "test-0.csv"
    rewrite(path, lambda frame: frame.assign(a=np.where(frame.index == 3, np.nan, frame.a)))
    message = failed(tmp_path, overrides, "column 'a' holds NaN, inf or an empty cell in a record")
    assert "test-0.csv" in message


@pytest.mark.parametrize("ext", ["csv", "parquet"])
def test_a_duplicated_column_name_is_named(tmp_path, ext):
    overrides = write_tables(tmp_path / "data", ext)
    path = tmp_path / "data" / f"train-0.{ext}"
    if ext == "csv":
        path.write_text(path.read_text().replace("a,b,c,d,y", "a,b,b,d,y", 1))
    else:
        import pyarrow.parquet as pq

        table = pq.read_table(path)
        pq.write_table(table.rename_columns(["a", "b", "b", "d", "y"]), path)
    with pytest.raises(ConfigError, match=rf"{path} has the column name 'b' 2 times: rename the columns"):
        loaded(overrides)


@pytest.mark.parametrize("ext", ["csv", "parquet"])
def test_a_class_no_training_row_has_is_a_warning_naming_the_label(tmp_path, ext, caplog):
    overrides = write_tables(tmp_path / "data", ext)
    for k in (0, 1):
        rewrite(tmp_path / "data" / f"train-{k}.{ext}", lambda frame: frame[frame.y != 2])
    with caplog.at_level(logging.WARNING, logger="tfexp.data"):
        data = loaded([*overrides, "data.class_names=[low,mid,high]"])
    assert data.spec.num_outputs == 3  # training still makes sense: a warning, not an error
    (warning,) = [r.getMessage() for r in caplog.records if "never occur" in r.getMessage()]
    assert "class(es) high of label column 'y' never occur in the training files" in warning and "train-0" in warning


def test_every_class_present_gives_no_warning(tmp_path, caplog):
    with caplog.at_level(logging.WARNING, logger="tfexp.data"):
        loaded(write_tables(tmp_path / "data", "csv"))
    assert not [r for r in caplog.records if "never occur" in r.getMessage()]


def test_a_training_file_with_fewer_rows_than_a_batch_is_refused_in_one_line(tmp_path):
    overrides = write_tables(tmp_path / "data", "csv", files_per_split=1)
    rewrite(tmp_path / "data" / "train-0.csv", lambda frame: frame.head(5))
    assert loaded(overrides).spec.size("train") == 5  # small CSV files are counted up front
    message = failed(tmp_path, overrides, "trainer.batch_size=32 is larger than the training split")
    assert "(5 examples); use trainer.batch_size=5 or less" in message
