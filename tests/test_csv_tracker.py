"""``tracking=csv``: plain files per run (Lightning's CSVLogger layout), read back as a user would."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest
import yaml

from tfexp.secrets import MASK
from tfexp.testing import FailsAfterFit, resume_run, run_cli, tiny_run


def read_files(run_dir: Path) -> tuple[list[dict], dict, dict]:
    with (run_dir / "metrics.csv").open(newline="") as file:
        rows = list(csv.DictReader(file))
    return rows, yaml.safe_load((run_dir / "hparams.yaml").read_text()), yaml.safe_load((run_dir / "tags.yaml").read_text())


def test_tracking_csv_on_the_command_line_writes_metrics_hparams_tags_and_no_mlflow(tmp_path):
    result = run_cli(["tracking=csv", "debug=fast", "debug.trainer.epochs=2", "+data.api_token=s3cr3t"], cwd=tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]
    (run_dir,) = (tmp_path / "outputs").glob("*/*")
    rows, hparams, tags = read_files(run_dir)
    assert [(r["step"], r["epoch"]) for r in rows] == [("0", "0"), ("1", "1"), ("2", "2")]
    assert list(rows[0])[:2] == ["step", "epoch"] and {"loss", "val_accuracy"} <= set(rows[0])
    assert rows[2]["test_accuracy"] and not rows[0]["test_accuracy"]  # test metrics after the last epoch
    assert hparams["model.name"] == "mlp" and hparams["trainer.epochs"] == 2 and hparams["model.hidden_units"] == [256, 128]
    assert hparams["data.api_token"] == MASK and "s3cr3t" not in (run_dir / "hparams.yaml").read_text()
    assert tags["tfexp.technique"] == "supervised" and tags["tfexp.status"] == "FINISHED"
    assert f"CSV: {run_dir / 'metrics.csv'}" in result.stderr
    assert not (tmp_path / "mlflow.db").exists() and not (run_dir / "tensorboard").exists()


def test_a_failed_run_keeps_its_metrics_and_says_why(tmp_path):
    with pytest.raises(RuntimeError):
        tiny_run(tmp_path, ["tracking=csv"], plugins=[FailsAfterFit()])
    rows, _, tags = read_files(tmp_path / "outputs")
    assert [r["epoch"] for r in rows] == ["0"] and rows[0]["val_loss"]
    assert tags["tfexp.status"] == "FAILED" and tags["tfexp.error"].startswith("RuntimeError: broken after fit")


def test_a_resumed_run_continues_its_file_each_epoch_once(tmp_path):
    run = tiny_run(tmp_path, ["tracking=csv", "debug.trainer.epochs=2"])
    first_rows, hparams, _ = read_files(run.output_dir)
    resume_run(tmp_path, run.output_dir, epochs=3)
    rows, resumed_hparams, tags = read_files(run.output_dir)
    assert [(r["step"], r["epoch"]) for r in rows] == [("0", "0"), ("1", "1"), ("2", "2"), ("3", "3")]
    assert rows[:2] == first_rows[:2] and rows[2]["val_loss"] and rows[3]["test_accuracy"]  # epoch 2 trained, then tested
    assert resumed_hparams == hparams and tags["tfexp.status"] == "FINISHED"
