"""What accelerators this process sees, and the process-wide device settings.

Device settings (memory growth, logical CPUs) only take effect before TensorFlow starts
its runtime; a later change is refused by TensorFlow, and reported here in one line.
"""

from __future__ import annotations

import logging
import os

from tfexp.errors import TfexpError

log = logging.getLogger("tfexp.strategies")


class DeviceNotFoundError(TfexpError):
    """The strategy asks for a device (GPU, TPU, cluster) this machine does not have."""


def gpus() -> list:
    import tensorflow as tf

    return tf.config.list_physical_devices("GPU")


def tpu_present() -> bool:
    """A TPU is attached (TPU VM) or named by the environment (``$TPU_NAME``)."""
    import tensorflow as tf

    return bool(os.environ.get("TPU_NAME") or tf.config.list_physical_devices("TPU"))


def require_gpus(strategy: str, count: int = 1, alternative: str = "strategy=cpu") -> list:
    found = gpus()
    if len(found) < count:
        raise DeviceNotFoundError(
            f"strategy={strategy} needs {count} GPU(s) but TensorFlow sees {len(found)} "
            f"(tf.config.list_physical_devices('GPU')). Check the driver (nvidia-smi) and install "
            f'"tensorflow[and-cuda]", or use strategy=auto (picks what is present) or {alternative}.'
        )
    return found


def set_memory_growth(enabled: bool) -> None:
    import tensorflow as tf

    for gpu in gpus():
        if tf.config.experimental.get_memory_growth(gpu) == enabled:
            continue
        try:
            tf.config.experimental.set_memory_growth(gpu, enabled)
        except RuntimeError:  # GPUs already initialized, e.g. by an earlier job of a multirun
            log.warning("strategy.gpu_memory_growth=%s not applied: the GPUs started earlier in this process", enabled)


def split_cpu(count: int) -> list[str]:
    """Make ``count`` logical CPU devices (once per process) and return their names."""
    import tensorflow as tf

    cpu = tf.config.list_physical_devices("CPU")[0]
    current = tf.config.get_logical_device_configuration(cpu) or []
    if len(current) != count:
        try:
            tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * count)
        except RuntimeError:
            raise DeviceNotFoundError(
                f"strategy.logical_cpus={count}: TensorFlow already started in this process with "
                f"{max(len(current), 1)} CPU device(s), and devices cannot change afterwards. "
                f"Run it in a fresh process (one job per process), with no TensorFlow work before the strategy."
            ) from None
    return [f"/cpu:{i}" for i in range(count)]
