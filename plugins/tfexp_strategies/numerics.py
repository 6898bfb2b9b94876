"""Process-wide numerics a strategy sets: the Keras dtype policy and op determinism.

Both are global, so each run sets them when its strategy is created and they are put back
when it ends (the runner resets the policy to float32; :func:`restore_determinism` undoes
determinism), so the jobs of a multirun in one process do not inherit each other's.
"""

from __future__ import annotations

import logging

log = logging.getLogger("tfexp.strategies")


def apply_precision(policy: str) -> None:
    """Set the global policy before the model is built; under ``mixed_float16``,
    ``model.compile`` wraps the optimizer in a ``LossScaleOptimizer`` (Keras 3 does it:
    ``auto_scale_loss=True``)."""
    import keras

    keras.mixed_precision.set_global_policy(policy)


def enable_determinism() -> bool:
    """Deterministic kernels and tf.data order; returns whether it was already on.

    Seeds are the runner's (``keras.utils.set_random_seed(seed)`` before the strategy)."""
    import tensorflow as tf
    from tensorflow.python.framework import config  # the switch-off is not in tf.config

    was_on = config.is_op_determinism_enabled()
    tf.config.experimental.enable_op_determinism()
    return was_on


def restore_determinism(was_on: bool) -> None:
    from tensorflow.python.framework import config

    if not was_on:
        config.disable_op_determinism()


def check_float32_outputs(model) -> None:
    """Under a mixed policy, float16/bfloat16 logits make losses and softmax unstable."""
    low = [t.name for t in model.outputs if str(t.dtype) != "float32"] if getattr(model, "outputs", None) else []
    if low:
        log.warning(
            "model outputs %s are not float32 under a mixed precision policy: build the last layer "
            "with dtype='float32' (the built-in models do) for stable losses",
            ", ".join(low),
        )
