"""TFLite: converted from the serving SavedModel (so it takes raw inputs too), run with the
TFLite interpreter, and scored on the test split next to the Keras model.

TensorFlow 2.21 still ships ``tf.lite.TFLiteConverter`` and ``tf.lite.Interpreter``; the
interpreter warns that it moves to LiteRT (``pip install ai-edge-litert``), which is used
instead when installed.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np

from tfexp_export.serving import INPUT_NAME

BATCH = 256


def convert(saved_model: Path, signature_name: str, quantization: str, representative: np.ndarray | None = None) -> bytes:
    """The ``.tflite`` bytes of ``saved_model``'s signature; ``int8`` calibrates on ``representative``
    raw inputs and keeps float32 inputs and outputs, so clients send the same requests."""
    import tensorflow as tf

    converter = tf.lite.TFLiteConverter.from_saved_model(str(saved_model), signature_keys=[signature_name])
    if quantization != "none":
        converter.optimizations = [tf.lite.Optimize.DEFAULT]
    if quantization == "float16":
        converter.target_spec.supported_types = [tf.float16]
    if quantization == "int8":
        converter.representative_dataset = lambda: ([row[None]] for row in representative.astype("float32"))
    return converter.convert()


def interpreter(model_path: Path):
    try:
        from ai_edge_litert.interpreter import Interpreter
    except ImportError:
        import tensorflow as tf

        Interpreter = tf.lite.Interpreter
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*tf.lite.Interpreter is deprecated")
        return Interpreter(model_path=str(model_path))


def predict(model_path: Path, signature_name: str, raw_inputs: np.ndarray) -> dict[str, np.ndarray]:
    """Every output of the signature for ``raw_inputs``, in batches."""
    runner = interpreter(model_path).get_signature_runner(signature_name)
    parts = [runner(**{INPUT_NAME: raw_inputs[i : i + BATCH].astype("float32")}) for i in range(0, len(raw_inputs), BATCH)]
    return {key: np.concatenate([p[key] for p in parts]) for key in parts[0]}


def score(task: str, outputs: np.ndarray, y: np.ndarray, thresholds: np.ndarray) -> tuple[str, float]:
    """One test metric computed the same way for every format: ``(name, value)``."""
    if task == "multiclass":
        return "accuracy", float(np.mean(outputs.argmax(axis=-1) == y))
    if task == "multilabel":
        decided = 1 / (1 + np.exp(-outputs)) >= thresholds
        return "binary_accuracy", float(np.mean(decided == (y > 0.5)))
    return "mae", float(np.mean(np.abs(outputs.reshape(y.shape) - y)))
