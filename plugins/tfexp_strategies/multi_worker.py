"""``strategy=multi_worker``: MultiWorkerMirroredStrategy over the cluster in ``$TF_CONFIG``.

A cluster given in the config (``strategy.cluster`` + ``task_type``/``task_index``) is
written to ``$TF_CONFIG`` at configure time, so TensorFlow and the trackers
(:func:`tfexp.cluster.is_chief`) read one and the same description.
"""

from __future__ import annotations

import json
import logging
import os

from omegaconf import OmegaConf

from tfexp.cluster import tf_config
from tfexp.errors import TfexpError
from tfexp_strategies.devices import DeviceNotFoundError

log = logging.getLogger("tfexp.strategies")


def export_tf_config(cfg) -> None:
    """``strategy.cluster`` -> ``$TF_CONFIG`` for this process (a worker is one process)."""
    if cfg.cluster is not None:
        task = {"type": cfg.task_type, "index": cfg.task_index}
        os.environ["TF_CONFIG"] = json.dumps({"cluster": OmegaConf.to_container(cfg.cluster), "task": task})


def is_multi_worker(strategy) -> bool:
    import tensorflow as tf

    return isinstance(strategy, tf.distribute.MultiWorkerMirroredStrategy)


def create_multi_worker(cfg):
    import tensorflow as tf

    config = tf_config()
    if not config.get("cluster") or not config.get("task"):
        raise DeviceNotFoundError(
            "strategy=multi_worker found no cluster: set $TF_CONFIG on every worker "
            '(\'{"cluster": {"worker": ["host1:port", "host2:port"]}, "task": {"type": "worker", "index": 0}}\') '
            "or strategy.cluster={worker:[host1:port,host2:port]} strategy.task_index=<i>. See docs/strategies.md."
        )
    task, cluster = config["task"], config["cluster"]
    implementation = getattr(tf.distribute.experimental.CommunicationImplementation, cfg.communication.upper())
    options = tf.distribute.experimental.CommunicationOptions(implementation=implementation)
    size = sum(len(addresses) for addresses in cluster.values())
    log.info("strategy=multi_worker: %s %s of a %d-process cluster; waiting for all of them to connect", task.get("type"), task.get("index"), size)
    try:
        return tf.distribute.MultiWorkerMirroredStrategy(communication_options=options)
    except RuntimeError as exc:
        if "program startup" not in str(exc):
            raise
        raise TfexpError(
            "strategy=multi_worker must start before anything else runs TensorFlow in this process "
            "(collective ops are configured at start-up): run one job per process, not a multirun in one "
            "process, and keep TensorFlow work out of tfexp_before_run hooks."
        ) from None
