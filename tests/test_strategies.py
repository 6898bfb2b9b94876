"""Strategies, precision, determinism and the distributed loop, on this CPU-only machine.

GPU and TPU paths can only be checked here for their clear failure (no accelerator).
The two-process multi-worker run is in tests/test_strategies_multi_worker.py.
"""

from __future__ import annotations

import json
import os
import re

import pytest

from tfexp import hookimpl
from tfexp.cluster import is_chief
from tfexp.components import StrategySpec
from tfexp.errors import ConfigError
from tfexp.testing import compose, mlflow_runs, run_cli, tiny_run
from tfexp_strategies.config import COMMON_FIELDS, check_strategy_config
from tfexp_strategies.devices import DeviceNotFoundError

STRATEGIES = ["default", "cpu", "gpu", "mirrored", "multi_worker", "tpu", "auto"]


def create(overrides):
    """The strategy the runner would create for these overrides (configure included)."""
    from tfexp.plugins import build_plugin_manager, get_registry

    cfg = compose(overrides)
    pm = build_plugin_manager()
    pm.hook.tfexp_configure(cfg=cfg)
    return get_registry(pm).get("strategy", cfg.strategy.name).create(cfg.strategy)


# -- config ---------------------------------------------------------------------------


@pytest.mark.parametrize("name", STRATEGIES)
def test_every_strategy_composes_with_the_common_fields(name):
    cfg = check_strategy_config(compose([f"strategy={name}"]).strategy)
    assert cfg.name == name and set(COMMON_FIELDS) <= set(cfg)
    assert (cfg.precision, cfg.jit_compile, cfg.deterministic) == ("float32", None, False)


@pytest.mark.parametrize(
    "overrides,key",
    [
        (["strategy.precision=float16"], "strategy.precision"),
        (["strategy=mirrored", "strategy.logical_cpus=1"], "strategy.logical_cpus"),
        (["strategy=multi_worker", "strategy.communication=mpi"], "strategy.communication"),
        (["strategy=multi_worker", "strategy.cluster={worker:[a:1,b:2]}", "strategy.task_index=2"], "strategy.task_index"),
        (["strategy=multi_worker", "strategy.cluster={worker:[nohost]}"], "strategy.cluster.worker"),
        (["strategy=gpu", "+strategy.devices=[a]"], "strategy.devices"),
    ],
)
def test_bad_strategy_values_fail_before_tensorflow_naming_the_key(overrides, key):
    from tfexp.plugins import build_plugin_manager

    cfg = compose(overrides)
    with pytest.raises(ConfigError, match=key.replace(".", r"\.")):
        build_plugin_manager().hook.tfexp_configure(cfg=cfg)


def test_cluster_in_config_becomes_tf_config(monkeypatch):
    from tfexp.plugins import build_plugin_manager

    monkeypatch.delenv("TF_CONFIG", raising=False)
    cfg = compose(["strategy=multi_worker", "strategy.cluster={worker:[h1:2222,h2:2222]}", "strategy.task_index=1"])
    build_plugin_manager().hook.tfexp_configure(cfg=cfg)
    tf_config = json.loads(os.environ["TF_CONFIG"])
    assert tf_config == {"cluster": {"worker": ["h1:2222", "h2:2222"]}, "task": {"type": "worker", "index": 1}}
    assert not is_chief()


# -- who is the chief -----------------------------------------------------------------


@pytest.mark.parametrize(
    "tf_config,chief",
    [
        (None, True),
        ({"cluster": {"worker": ["a:1", "b:1"]}, "task": {"type": "worker", "index": 0}}, True),
        ({"cluster": {"worker": ["a:1", "b:1"]}, "task": {"type": "worker", "index": 1}}, False),
        ({"cluster": {"chief": ["c:1"], "worker": ["a:1"]}, "task": {"type": "chief", "index": 0}}, True),
        ({"cluster": {"chief": ["c:1"], "worker": ["a:1"]}, "task": {"type": "worker", "index": 0}}, False),
        ({"cluster": {"worker": ["a:1"]}, "task": {"type": "evaluator", "index": 0}}, False),
    ],
)
def test_is_chief_follows_tf_config(monkeypatch, tf_config, chief):
    if tf_config is None:
        monkeypatch.delenv("TF_CONFIG", raising=False)
    else:
        monkeypatch.setenv("TF_CONFIG", json.dumps(tf_config))
    assert is_chief() is chief


def test_malformed_tf_config_is_a_clear_error(monkeypatch):
    monkeypatch.setenv("TF_CONFIG", "{cluster: oops")
    with pytest.raises(ConfigError, match="TF_CONFIG is not valid JSON"):
        is_chief()


def test_a_non_chief_worker_tracks_nothing(tmp_path, monkeypatch):
    monkeypatch.setenv("TF_CONFIG", json.dumps({"cluster": {"worker": ["a:1", "b:1"]}, "task": {"type": "worker", "index": 1}}))
    run = tiny_run(tmp_path, ["export.formats=[]"])
    assert run.test_metrics["test_accuracy"] > 0  # it trained
    assert "mlflow" not in run.tracker_refs and not (tmp_path / "mlflow.db").exists()
    assert not (tmp_path / "outputs" / "tensorboard").exists()


# -- construction on this machine -----------------------------------------------------


@pytest.mark.parametrize(
    "overrides,kind,replicas",
    [
        (["strategy=default"], "_DefaultDistributionStrategy", 1),
        (["strategy=cpu"], "OneDeviceStrategy", 1),
        (["strategy=mirrored", "strategy.devices=[/cpu:0]"], "MirroredStrategy", 1),
        (["strategy=auto"], "OneDeviceStrategy", 1),  # no TPU, no GPU here: the CPU
    ],
)
def test_strategies_are_created_on_cpu(overrides, kind, replicas):
    strategy = create(overrides)
    assert (type(strategy).__name__, strategy.num_replicas_in_sync) == (kind, replicas)


@pytest.mark.parametrize(
    "name,message,way_out",
    [
        ("gpu", "strategy=gpu needs 1 GPU(s) but TensorFlow sees 0", "strategy=auto"),
        ("mirrored", "strategy=mirrored needs 1 GPU(s) but TensorFlow sees 0", "strategy.logical_cpus=2"),
        ("tpu", "strategy=tpu found no TPU", "strategy.tpu=local"),
        ("multi_worker", "strategy=multi_worker found no cluster", "strategy.cluster="),
    ],
)
def test_missing_devices_fail_with_one_clear_line(name, message, way_out, monkeypatch):
    monkeypatch.delenv("TF_CONFIG", raising=False)
    monkeypatch.delenv("TPU_NAME", raising=False)
    with pytest.raises(DeviceNotFoundError, match=re.escape(message)) as info:
        create([f"strategy={name}"])
    assert "\n" not in str(info.value) and way_out in str(info.value)


def test_missing_tpu_on_the_command_line_is_one_line_without_traceback(tmp_path):
    result = run_cli(["strategy=tpu", "debug=fast", "tracking=none"], cwd=tmp_path)
    assert result.returncode == 1
    assert "tfexp: error: strategy=tpu found no TPU" in result.stderr and "Traceback" not in result.stderr


@pytest.mark.slow
def test_mirrored_over_two_logical_cpus_trains_with_fit(tmp_path):
    """Logical devices must exist before TensorFlow starts: a fresh process."""
    result = run_cli(["strategy=mirrored", "strategy.logical_cpus=2", "debug=fast", "tracking.tensorboard=false", "export.formats=[]"], cwd=tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]
    (run,) = mlflow_runs(tmp_path)
    assert run.data.tags["tfexp.strategy.class"] == "MirroredStrategy" and run.data.tags["tfexp.strategy.replicas"] == "2"
    assert run.data.params["strategy.logical_cpus"] == "2" and run.data.metrics["test_accuracy"] > 0.2


@pytest.mark.slow
def test_multirun_of_different_models_under_mirrored_finishes_every_job(tmp_path):
    """The jobs of a multirun share one process: the second job's strategy must not reuse
    the first job's collective keys (its all-reduce would expect the first model's shapes)."""
    result = run_cli(
        ["-m", "model=mlp,cnn", "strategy=mirrored", "strategy.logical_cpus=2", "debug=fast", "trainer.steps_per_epoch=2",
         "tracking.log_model=false", "tracking.tensorboard=false", "export.formats=[]"],
        cwd=tmp_path,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    jobs = {run.data.params["model.name"]: run for run in mlflow_runs(tmp_path) if run.data.tags.get("tfexp.sweep") != "parent"}
    assert set(jobs) == {"mlp", "cnn"} and {run.info.status for run in jobs.values()} == {"FINISHED"}
    assert {run.data.tags["tfexp.strategy.replicas"] for run in jobs.values()} == {"2"}


# -- precision, XLA, determinism ------------------------------------------------------


class ModelProbe:
    """Records what the compiled model looks like when training starts."""

    def __init__(self):
        self.seen = {}

    @hookimpl
    def tfexp_before_fit(self, run, model):
        hidden = next(layer for layer in model.layers if layer.name != "logits" and layer.weights)
        self.seen = {
            "policy": model.dtype_policy.name,
            "hidden_compute": hidden.compute_dtype,
            "hidden_variables": hidden.variable_dtype,
            "output": str(model.outputs[0].dtype),
            "optimizer": type(model.optimizer).__name__,
            "jit_compile": model.jit_compile,
        }


@pytest.mark.parametrize("policy,low,optimizer", [("mixed_bfloat16", "bfloat16", "Adam"), ("mixed_float16", "float16", "LossScaleOptimizer")])
def test_mixed_precision_is_applied_and_trains(tmp_path, policy, low, optimizer):
    import keras

    probe = ModelProbe()
    run = tiny_run(
        tmp_path,
        [f"strategy.precision={policy}", "debug.trainer.epochs=3", "debug.trainer.steps_per_epoch=20", "tracking=none", "export.formats=[]"],
        plugins=[probe],
    )
    assert probe.seen["policy"] == policy and probe.seen["hidden_compute"] == low
    assert probe.seen["hidden_variables"] == "float32" and probe.seen["output"] == "float32"
    assert probe.seen["optimizer"] == optimizer  # float16 needs loss scaling; bfloat16 does not
    assert run.history["loss"][-1] < run.history["loss"][0] and run.test_metrics["test_accuracy"] > 0.6
    assert keras.mixed_precision.global_policy().name == "float32"  # nothing leaks to the next job


def test_jit_compile_reaches_the_model(tmp_path):
    probe = ModelProbe()
    tiny_run(tmp_path, ["strategy.jit_compile=true", "tracking=none", "export.formats=[]"], plugins=[probe])
    assert probe.seen["jit_compile"] is True


def test_deterministic_runs_repeat_exactly_and_determinism_is_switched_off_after(tmp_path):
    from tensorflow.python.framework import config

    runs = [
        tiny_run(tmp_path / str(i), ["strategy.deterministic=true", "seed=7", "debug.trainer.epochs=2", "tracking=none", "export.formats=[]"])
        for i in range(2)
    ]
    assert runs[0].history == runs[1].history and runs[0].test_metrics == runs[1].test_metrics
    assert not config.is_op_determinism_enabled()


# -- the distributed loop (multi_worker's trainer) in this process --------------------


class LocalMultiWorker:
    """MultiWorkerMirroredStrategy without a cluster: one local worker, in this process
    (the strategy=multi_worker factory insists on a cluster)."""

    def __init__(self):
        self.keras_events = []

    @hookimpl
    def tfexp_register_strategies(self):
        import tensorflow as tf

        return [StrategySpec("local_multi_worker", lambda cfg: tf.distribute.MultiWorkerMirroredStrategy())]

    @hookimpl
    def tfexp_before_fit(self, run, model):
        import keras

        events = self.keras_events

        class Seen(keras.callbacks.Callback):
            def on_train_begin(self, logs=None):
                events.append("train_begin")

            def on_epoch_end(self, epoch, logs=None):
                events.append(f"epoch_end:{epoch}:{sorted(logs)}")

            def on_train_end(self, logs=None):
                events.append("train_end")

        return [Seen()]


def test_distributed_loop_trains_exactly_like_fit(tmp_path):
    """Same seed, same data: the loop (strategy.run of the model's train_step) gives the
    metrics model.fit gives, and fires the same callbacks and tracking."""
    common = ["debug.trainer.epochs=2", "tracking.log_every_n_steps=2", "export.formats=[]", "tracking.tensorboard=false"]
    plugin = LocalMultiWorker()
    fitted = tiny_run(tmp_path / "fit", common, plugins=[plugin])
    looped = tiny_run(tmp_path / "loop", [*common, "strategy.name=local_multi_worker"], plugins=[plugin])

    assert "distributed_steps" in looped.info and "distributed_steps" not in fitted.info
    assert looped.history.keys() == fitted.history.keys() == {"loss", "accuracy", "val_loss", "val_accuracy", "val_ece", "learning_rate"}
    for name, values in fitted.history.items():
        assert looped.history[name] == pytest.approx(values, rel=1e-5), name
    assert looped.test_metrics == pytest.approx(fitted.test_metrics, rel=1e-5)
    keys = "['accuracy', 'loss', 'val_accuracy', 'val_ece', 'val_loss']"
    assert plugin.keras_events[-4:] == ["train_begin", f"epoch_end:0:{keys}", f"epoch_end:1:{keys}", "train_end"]
    (tracked,) = [r for r in mlflow_runs(tmp_path / "loop")]
    assert tracked.data.tags["tfexp.strategy.class"] == "CollectiveAllReduceStrategy"  # MultiWorkerMirrored
    assert {"loss", "val_accuracy", "step/loss", "test_accuracy"} <= set(tracked.data.metrics)
