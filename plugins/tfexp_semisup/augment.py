"""FixMatch's weak and strong views of an input (imported lazily: it defines Keras layers).

Images (H, W, C) get geometric augmentation layers (no flips: a mirrored digit is another
digit); every input, image or vector, gets Gaussian noise, and the strong view also
loses a random share of its features.
"""

from __future__ import annotations

import keras


class FeatureDrop(keras.layers.Layer):
    """Zeroes a random share of input features while training, without Dropout's rescaling
    (an input is not an activation: its scale must stay that of the data)."""

    def __init__(self, rate: float, seed: int | None = None, **kwargs):
        super().__init__(**kwargs)
        self.rate = rate
        self.seed_generator = keras.random.SeedGenerator(seed)

    def call(self, inputs, training=False):
        if not training or not self.rate:
            return inputs
        keep = keras.random.uniform(keras.ops.shape(inputs), seed=self.seed_generator) >= self.rate
        return inputs * keras.ops.cast(keep, inputs.dtype)


def is_image(input_shape: tuple[int, ...]) -> bool:
    return len(input_shape) == 3


def augmenters(input_shape: tuple[int, ...], aug) -> tuple[keras.Sequential, keras.Sequential]:
    """``(weak, strong)`` augmentation pipelines for inputs of ``input_shape``; layers
    whose strength is 0 are left out. Both act only when called with ``training=True``."""
    layers = keras.layers
    weak: list = []
    strong: list = []
    if is_image(input_shape):
        if aug.weak_shift:
            weak.append(layers.RandomTranslation(aug.weak_shift, aug.weak_shift, fill_mode="constant"))
        if aug.strong_shift:
            strong.append(layers.RandomTranslation(aug.strong_shift, aug.strong_shift, fill_mode="constant"))
        if aug.strong_rotation:
            strong.append(layers.RandomRotation(aug.strong_rotation, fill_mode="constant"))
        if aug.strong_zoom:
            strong.append(layers.RandomZoom(aug.strong_zoom, fill_mode="constant"))
    if aug.feature_drop:
        strong.append(FeatureDrop(aug.feature_drop))
    if aug.weak_noise:
        weak.append(layers.GaussianNoise(aug.weak_noise))
    if aug.strong_noise:
        strong.append(layers.GaussianNoise(aug.strong_noise))
    return (
        keras.Sequential([keras.Input(input_shape), *weak], name="weak_view"),
        keras.Sequential([keras.Input(input_shape), *strong], name="strong_view"),
    )
