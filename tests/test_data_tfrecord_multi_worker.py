"""Two real workers (``strategy=multi_worker`` on 127.0.0.1) train on 4 TFRecord shards:
each reads only its own two files, and both end where one worker on all four files ends.

Every step is one full-batch step (trainer.batch_size = the 64 train records), so each
global batch holds the same examples whatever the split across workers; with plain SGD and
no dropout the runs differ only by float summation order: weights agree to 1e-5.
"""

from __future__ import annotations

import os
import re

import numpy as np
import pytest
from conftest import free_ports, outputs_of, spawn_tfexp
from test_strategies_multi_worker import final_weights

from tfexp.data.convert import serialize, write_shards
from tfexp.data.tfrecord import FeatureType
from tfexp.data.tfrecord_schema import Schema
from tfexp.testing import mlflow_runs, store_uri

SHARDS, PER_SHARD = 4, 16
TOLERANCE = 1e-5


def write_data(directory) -> str:
    """Four shards per split of a learnable 4-class problem, with a schema (sizes known)."""
    from sklearn.datasets import make_classification

    x, y = make_classification(n_samples=SHARDS * PER_SHARD * 2, n_features=8, n_informative=6, n_classes=4, random_state=0)
    types = {"x": FeatureType("float32", (8,)), "y": FeatureType("int64")}
    parts = {"train": slice(0, 64), "val": slice(64, 96), "test": slice(96, 128)}
    splits = {}
    directory.mkdir()
    for split, part in parts.items():
        names = [f"{split}-{i}.tfrecord" for i in range(SHARDS)]
        count = write_shards(serialize({"x": x[part], "y": y[part]}, types), [str(directory / n) for n in names], None)
        splits[split] = {"count": count, "files": names}
    Schema(features={n: str(t) for n, t in types.items()}, label="y", task="multiclass", num_classes=4,
           class_names=list("abcd"), input_shape=[8], splits=splits).write(directory / "schema.json")
    return str(directory / "schema.json")


@pytest.mark.slow
def test_two_workers_read_their_own_shards_and_match_one_worker(tmp_path):
    schema = write_data(tmp_path / "data")
    common = [
        "data=tfrecord", f"data.schema={schema}", "model.hidden_units=[16]", "model.dropout=0", "trainer.optimizer=sgd",
        "trainer.learning_rate=0.5", "trainer.batch_size=64", "trainer.epochs=4", "trainer.verbose=2",
        "tracking.tensorboard=false", "tracking.log_model=false", "export.formats=[]",
    ]
    from mlflow import MlflowClient

    client = MlflowClient(store_uri(tmp_path))  # made once, before three processes open it
    for name in ("tfexp", "single"):
        client.create_experiment(name)
    cluster = {"worker": [f"127.0.0.1:{port}" for port in free_ports(2)]}
    procs = [spawn_tfexp([*common, "strategy=multi_worker", f"hydra.run.dir=outputs/worker{i}"], tmp_path, {"cluster": cluster, "task": {"type": "worker", "index": i}})
             for i in range(2)]
    procs.append(spawn_tfexp([*common, "hydra.run.dir=outputs/single", "tracking.experiment_name=single"], tmp_path))
    outputs = outputs_of(procs)
    for proc, output in zip(procs, outputs):
        assert proc.returncode == 0 and "tfexp run FINISHED" in output, output[-4000:]

    read = [re.findall(r"data\.train: worker (\d) of 2 reads 2 of 4 files: (.*)", output) for output in outputs[:2]]
    mine = [set(files.split(", ")) for (((worker, files),), index) in zip(read, "01") if worker == index]
    assert len(mine) == 2 and not mine[0] & mine[1]
    assert {os.path.basename(f) for f in mine[0] | mine[1]} == {f"train-{i}.tfrecord" for i in range(SHARDS)}
    import tensorflow as tf

    records = [sum(1 for _ in tf.data.TFRecordDataset(sorted(files))) for files in mine]
    assert records == [SHARDS * PER_SHARD // 2] * 2  # each worker reads half of the 64 train records, once per pass

    two, one = final_weights(tmp_path / "outputs" / "worker0"), final_weights(tmp_path / "outputs" / "single")
    moved = [name for name in one if "_trainable_variables" in name]
    assert moved and two.keys() == one.keys()
    for name in moved:
        assert np.allclose(two[name], one[name], atol=TOLERANCE), (name, np.abs(two[name] - one[name]).max())
    metrics = {run.data.tags.get("tfexp.strategy.replicas", "?"): run.data.metrics for run in mlflow_runs(tmp_path)}
    assert abs(metrics["2"]["test_loss"] - metrics["1"]["test_loss"]) < 1e-4
