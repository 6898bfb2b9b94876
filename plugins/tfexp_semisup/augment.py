"""FixMatch's weak and strong views of an input (imported lazily: it defines Keras layers).

What an input is decides its views (``augment.kind``; ``auto`` goes by rank): images (H, W, C)
get geometric layers (no flips: a mirrored digit is another digit); sequences (length[,
channels]) a circular shift, and in the strong view amplitude scaling and a zeroed window;
tabular vectors swap a random share of their features with other rows of the batch in the
strong view (SCARF). Every view gets Gaussian noise. On 1D signals zeroing features made
FixMatch worse than its labeled-only baseline while shifts and scaling did not
(experiments/semisup.md).
"""

from __future__ import annotations

import keras

from tfexp.data.spec import input_kind
from tfexp.errors import ConfigError


class FeatureCorruption(keras.layers.Layer):
    """While training, each feature of each example is replaced (:meth:`replacement`) with
    probability ``rate``."""

    def __init__(self, rate: float, seed: int | None = None, **kwargs):
        super().__init__(**kwargs)
        self.rate = rate
        self.seed_generator = keras.random.SeedGenerator(seed)

    def call(self, inputs, training=False):
        if not training or not self.rate:
            return inputs
        chosen = keras.random.uniform(keras.ops.shape(inputs), seed=self.seed_generator) < self.rate
        return keras.ops.where(chosen, self.replacement(inputs), inputs)


class FeatureDrop(FeatureCorruption):
    """Zeroes features, without Dropout's rescaling (an input is not an activation: its scale
    must stay that of the data)."""

    def replacement(self, inputs):
        return keras.ops.zeros_like(inputs)


class FeatureSwap(FeatureCorruption):
    """SCARF's corruption (Bahri et al. 2022): a feature takes its value from a random row of
    the batch. A swapped value is drawn from the feature's own distribution, so it stays a
    plausible value of it (zeroing a standardized feature sets it to its mean, which may never
    occur)."""

    def replacement(self, inputs):
        shape = keras.ops.shape(inputs)
        donors = keras.random.randint(shape, 0, shape[0], seed=self.seed_generator)
        return keras.ops.take_along_axis(inputs, donors, axis=0)


def kind_of(input_shape: tuple[int, ...], kind: str = "auto") -> str:
    """``kind``, or for ``auto`` what the input's rank says (:func:`tfexp.data.spec.input_kind`)."""
    return input_kind(input_shape) if kind == "auto" else kind


class SequenceView(keras.layers.Layer):
    """While training: a circular shift by up to ``shift`` of the length, amplitude scaled by a
    factor in ``1 +- scale``, and a window of ``cutout`` of the length set to zero, each
    example its own draw. Sequences are (batch, length) or (batch, length, channels)."""

    def __init__(self, shift: float = 0.0, scale: float = 0.0, cutout: float = 0.0, seed: int | None = None, **kwargs):
        super().__init__(**kwargs)
        self.shift, self.scale, self.cutout = shift, scale, cutout
        self.seed_generator = keras.random.SeedGenerator(seed)

    def call(self, inputs, training=False):
        if not training:
            return inputs
        import tensorflow as tf

        n, length = tf.shape(inputs)[0], inputs.shape[1]
        batch_shape = [n] + [1] * (len(inputs.shape) - 1)
        steps = tf.range(length)[None, :]
        x = inputs
        if self.shift:
            most = int(self.shift * length)
            offset = keras.random.randint([n, 1], -most, most + 1, seed=self.seed_generator)
            x = tf.gather(x, (steps - offset) % length, batch_dims=1)
        if self.scale:
            x = x * keras.random.uniform(batch_shape, 1 - self.scale, 1 + self.scale, seed=self.seed_generator)
        if self.cutout:
            width = max(1, int(self.cutout * length))
            start = keras.random.randint([n, 1], 0, length - width + 1, seed=self.seed_generator)
            kept = tf.cast((steps < start) | (steps >= start + width), x.dtype)
            x = x * tf.reshape(kept, [n, length] + [1] * (len(inputs.shape) - 2))
        return x


def augmenters(input_shape: tuple[int, ...], aug) -> tuple[keras.Sequential, keras.Sequential]:
    """``(weak, strong)`` augmentation pipelines for inputs of ``input_shape`` of the kind
    ``aug.kind``; layers whose strength is 0 are left out. Both act only when called with
    ``training=True``."""
    layers = keras.layers
    weak: list = []
    strong: list = []
    kind = kind_of(input_shape, aug.get("kind", "auto"))
    if (kind == "image") != (input_kind(input_shape) == "image") and kind in ("image", "sequence"):
        raise ConfigError(f"technique.augment.kind={kind} does not fit inputs of shape {tuple(input_shape)}: image needs (height, width, "
                          f"channels), sequence (length) or (length, channels); use technique.augment.kind=auto")
    if kind == "sequence":
        weak.append(SequenceView(shift=aug.weak_shift))
        strong.append(SequenceView(shift=aug.strong_shift, scale=aug.strong_zoom, cutout=aug.feature_drop))
    if kind == "image":
        if aug.weak_shift:
            weak.append(layers.RandomTranslation(aug.weak_shift, aug.weak_shift, fill_mode="constant"))
        if aug.strong_shift:
            strong.append(layers.RandomTranslation(aug.strong_shift, aug.strong_shift, fill_mode="constant"))
        if aug.strong_rotation:
            strong.append(layers.RandomRotation(aug.strong_rotation, fill_mode="constant"))
        if aug.strong_zoom:
            strong.append(layers.RandomZoom(aug.strong_zoom, fill_mode="constant"))
    if aug.feature_drop and kind == "image":
        strong.append(FeatureDrop(aug.feature_drop))
    if aug.feature_swap and kind == "tabular":
        strong.append(FeatureSwap(aug.feature_swap))
    if aug.weak_noise:
        weak.append(layers.GaussianNoise(aug.weak_noise))
    if aug.strong_noise:
        strong.append(layers.GaussianNoise(aug.strong_noise))
    return (
        keras.Sequential([keras.Input(input_shape), *weak], name="weak_view"),
        keras.Sequential([keras.Input(input_shape), *strong], name="strong_view"),
    )
