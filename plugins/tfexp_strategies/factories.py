"""One function per strategy name: config node in, ``tf.distribute.Strategy`` out.

Each checks that what it asks for exists and raises :class:`DeviceNotFoundError` (one
line, with the way out) instead of letting TensorFlow fail later with a traceback.
"""

from __future__ import annotations

import logging
import os

from omegaconf import OmegaConf

from tfexp_strategies.config import COMMON_FIELDS, check_strategy_config
from tfexp_strategies.devices import DeviceNotFoundError, gpus, require_gpus, set_memory_growth, split_cpu, tpu_present
from tfexp_strategies.multi_worker import create_multi_worker

log = logging.getLogger("tfexp.strategies")


def create(name: str, node):
    """The strategy ``name`` for its config ``node`` (checked here too: callers may pass a
    raw node); GPU memory growth is set first, before anything starts the GPUs."""
    cfg = check_strategy_config(node)
    set_memory_growth(cfg.gpu_memory_growth)
    return CREATORS[name](cfg)


def default_strategy(cfg):
    import tensorflow as tf

    return tf.distribute.get_strategy()


def cpu_strategy(cfg):
    import tensorflow as tf

    return tf.distribute.OneDeviceStrategy("/cpu:0")


def gpu_strategy(cfg):
    import tensorflow as tf

    require_gpus("gpu", cfg.device_index + 1)
    return tf.distribute.OneDeviceStrategy(f"/gpu:{cfg.device_index}")


# TensorFlow's runtime keeps every collective instance it ran, by key, for the whole process,
# and each MirroredStrategy starts at the same keys: the next job of a multirun would
# all-reduce another model's variables under the first job's keys ("Shape mismatch in the
# collective instance 100"). Each strategy gets its own base, as TensorFlow's tests do
# (strategy_combinations.py steps it by 100000); a strategy takes one group key per device
# set, and the smaller step keeps the int32 keys valid for two million strategies.
COLLECTIVE_KEY_STEP = 1000


def mirrored_strategy(cfg):
    import tensorflow as tf

    tf.distribute.MirroredStrategy._collective_key_base += COLLECTIVE_KEY_STEP
    if cfg.devices:
        devices = list(cfg.devices)
    elif cfg.logical_cpus:
        devices = split_cpu(cfg.logical_cpus)
    else:
        devices = [f"/gpu:{i}" for i in range(len(require_gpus("mirrored", alternative="strategy.logical_cpus=2 to try it on the CPU")))]
    return tf.distribute.MirroredStrategy(devices)


def tpu_strategy(cfg):
    import tensorflow as tf

    try:
        resolver = tf.distribute.cluster_resolver.TPUClusterResolver(tpu=cfg.tpu or None)
        if cfg.tpu != "local":  # a TPU VM's chips are local: nothing to connect to
            tf.config.experimental_connect_to_cluster(resolver)
        tf.tpu.experimental.initialize_tpu_system(resolver)
    except Exception as exc:  # ValueError (no name), NotFoundError (no chips), connection errors
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise DeviceNotFoundError(
            f"strategy=tpu found no TPU ({reason}). On a Cloud TPU VM set strategy.tpu=local; elsewhere "
            f"strategy.tpu=<TPU name or grpc://host:port> (or $TPU_NAME); without a TPU use strategy=auto."
        ) from None
    return tf.distribute.TPUStrategy(resolver)


def auto_strategy(cfg):
    """TPU > several GPUs (mirrored) > one GPU > CPU, from what this machine has."""
    count = len(gpus())
    choice = "tpu" if tpu_present() else "mirrored" if count >= 2 else "gpu" if count == 1 else "cpu"
    log.info("strategy=auto chose %s (TPU: %s, GPUs: %d)", choice, "yes" if choice == "tpu" else "no", count)
    chosen = {key: cfg[key] for key in COMMON_FIELDS} | {"name": choice}
    if choice == "tpu":  # $TPU_NAME names a remote TPU; otherwise the chips are local (TPU VM)
        chosen["tpu"] = cfg.tpu or ("" if os.environ.get("TPU_NAME") else "local")
    return CREATORS[choice](check_strategy_config(OmegaConf.create(chosen)))


CREATORS = {
    "default": default_strategy,
    "cpu": cpu_strategy,
    "gpu": gpu_strategy,
    "mirrored": mirrored_strategy,
    "multi_worker": create_multi_worker,
    "tpu": tpu_strategy,
    "auto": auto_strategy,
}
