"""Two real worker processes on 127.0.0.1 train one model with ``strategy=multi_worker``.

Keras 3's ``model.fit`` fails under MultiWorkerMirroredStrategy (keras-team/keras#20585);
tfexp trains through its own distributed loop. Each worker is ``python -m tfexp`` with its
own ``TF_CONFIG``, exactly as on two machines.
"""

from __future__ import annotations

import subprocess

import pytest
from conftest import free_ports, outputs_of, spawn_tfexp
from mlflow import MlflowClient

from tfexp.checkpoint import CheckpointState
from tfexp.testing import mlflow_runs, store_uri

EPOCHS, STEPS = 2, 5


def start_worker(index: int, cluster: dict, cwd) -> subprocess.Popen:
    args = [
        "strategy=multi_worker", "debug=fast", f"debug.trainer.epochs={EPOCHS}", f"debug.trainer.steps_per_epoch={STEPS}",
        "tracking.log_every_n_steps=1", f"hydra.run.dir=outputs/worker{index}",
    ]
    return spawn_tfexp(args, cwd, {"cluster": cluster, "task": {"type": "worker", "index": index}})


def final_weights(run_dir) -> dict:
    """Every variable of the worker's last checkpoint (the model's weights are saved as the
    optimizer's ``_trainable_variables``, beside its moments and step count), by name."""
    import tensorflow as tf

    reader = tf.train.load_checkpoint(CheckpointState.read(run_dir).path)
    return {name: reader.get_tensor(name) for name in reader.get_variable_to_shape_map() if "OBJECT_GRAPH" not in name}


@pytest.mark.slow
def test_two_workers_train_one_model_and_only_the_chief_tracks(tmp_path):
    cluster = {"worker": [f"127.0.0.1:{port}" for port in free_ports(2)]}
    workers = [start_worker(i, cluster, tmp_path) for i in range(2)]
    outputs = outputs_of(workers)
    for worker, output in zip(workers, outputs):
        assert worker.returncode == 0, output[-4000:]
        assert "tfexp run FINISHED" in output
        assert "unhealthy" not in output  # they left together: nobody reports the other as crashed

    chief_dir, other_dir = tmp_path / "outputs" / "worker0", tmp_path / "outputs" / "worker1"
    chief_weights, other_weights = final_weights(chief_dir), final_weights(other_dir)
    assert chief_weights.keys() == other_weights.keys() and any("_trainable_variables" in k for k in chief_weights)
    for name, value in chief_weights.items():
        assert (value == other_weights[name]).all(), name

    (run,) = mlflow_runs(tmp_path)  # one MLflow run for the cluster: the chief's
    assert run.info.status == "FINISHED" and run.data.tags["tfexp.strategy.replicas"] == "2"
    client = MlflowClient(store_uri(tmp_path))
    assert [m.step for m in client.get_metric_history(run.info.run_id, "val_loss")] == list(range(EPOCHS))
    assert len(client.get_metric_history(run.info.run_id, "step/loss")) == EPOCHS * STEPS  # not once per worker
    assert (chief_dir / "tensorboard").is_dir() and not (other_dir / "tensorboard").exists()
