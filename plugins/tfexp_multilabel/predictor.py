"""The exported predictor: the trained network plus its thresholds, giving 0/1 per label.

Built from Keras' own layers only, so it loads anywhere Keras does (no import of this
plugin, MLflow pyfunc, serving): ``sigmoid`` -> subtract each label's threshold
(``Rescaling``, whose ``offset`` is minus the thresholds) -> ``Discretization`` at 0.
``p - t >= 0`` exactly when ``p >= t`` in float32, the rule of the evaluation.
"""

from __future__ import annotations

import numpy as np


def build_predictor(model, input_shape: tuple, thresholds: np.ndarray):
    """``model`` (logits) followed by the thresholds; shares the trained weights."""
    import keras

    inputs = keras.Input(shape=input_shape, name="inputs")
    probabilities = keras.layers.Activation("sigmoid", name="probabilities")(model(inputs))
    margins = keras.layers.Rescaling(1.0, offset=[-float(t) for t in thresholds], name="minus_thresholds")(probabilities)
    decisions = keras.layers.Discretization(bin_boundaries=[0.0], name="decisions")(margins)
    return keras.Model(inputs, decisions, name="multilabel_predictor")


def predictor_thresholds(predictor) -> np.ndarray:
    """The thresholds stored inside a predictor (model file) built by :func:`build_predictor`."""
    return -np.asarray(predictor.get_layer("minus_thresholds").offset, dtype="float32")
