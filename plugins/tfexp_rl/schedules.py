"""Schedules over the env-step budget (exploration) and over updates (learning rate)."""

from __future__ import annotations


def linear(start: float, end: float, duration: float, t: float) -> float:
    """``start`` at ``t=0``, moving linearly to ``end`` at ``t=duration``, then ``end``."""
    if duration <= 0:
        return end
    return start + (end - start) * min(t / duration, 1.0)


def make_optimizer(optimizer: str, learning_rate: float, lr_schedule: str, total_updates: int, max_grad_norm: float):
    """``optimizer`` (a Keras name: ``trainer.optimizer``) at ``learning_rate``, constant or
    linear to 0 over ``total_updates``, clipping the global gradient norm at ``max_grad_norm``."""
    import keras

    if lr_schedule == "linear":
        learning_rate = keras.optimizers.schedules.PolynomialDecay(learning_rate, max(total_updates, 1), end_learning_rate=0.0)
    config = {"learning_rate": learning_rate, "global_clipnorm": max_grad_norm}
    return keras.optimizers.get({"class_name": optimizer, "config": config})
