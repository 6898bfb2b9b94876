"""Presets on TFRecord shards written by ``python -m tfexp.data convert``: a preset's
technique reads files exactly as it reads arrays. (Distillation and semi-supervised
learning have their own file-source tests, with stage checks: tests/test_distill_e2e.py,
tests/test_semisup.py; RL has no data set.)"""

from __future__ import annotations

import pytest

from tfexp.data.__main__ import main as convert
from tfexp.testing import mlflow_runs, tiny_run


@pytest.mark.parametrize("preset, data", [("baseline", "digits"), ("multilabel", "synthetic_multilabel")])
def test_preset_runs_on_converted_shards(tmp_path, preset, data):
    schema = convert(["convert", f"data={data}", f"out={tmp_path / 'shards'}", "shards=2"])
    run = tiny_run(tmp_path, [f"+experiment={preset}", "data=tfrecord", f"data.schema={schema}"])
    assert run.data.spec.size("train") is not None and run.data.source.startswith("train=")
    (record,) = mlflow_runs(tmp_path)
    assert record.info.status == "FINISHED"
    metric = "test_accuracy" if preset == "baseline" else "test_micro_f1"
    assert 0 <= record.data.metrics[metric] <= 1
