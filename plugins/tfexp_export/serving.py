"""The SavedModel for serving: raw inputs -> the data plugin's preprocessing -> model -> named outputs.

tfexp's models output logits (the core compiles them ``from_logits=True``), so the
signature adds what a client wants from each task:

- multiclass: ``logits``, ``probabilities`` (softmax), ``class_id`` (argmax);
- multilabel: ``logits``, ``probabilities`` (sigmoid), ``labels`` (0/1 at the thresholds);
- regression: ``predictions``.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

INPUT_NAME = "inputs"


def model_output_key(task: str) -> str:
    """The output that holds the network's own values (what the two formats are compared on)."""
    return "predictions" if task == "regression" else "logits"


def serving_outputs(task: str, outputs, thresholds: np.ndarray) -> dict:
    import tensorflow as tf

    if not tf.is_tensor(outputs):
        raise TypeError(
            f"export needs a model with one output tensor, got {type(outputs).__name__}. "
            f"Export it with export.formats=[keras] instead."
        )
    if task == "regression":
        return {"predictions": outputs}
    if task == "multiclass":
        return {"logits": outputs, "probabilities": tf.nn.softmax(outputs), "class_id": tf.argmax(outputs, axis=-1, output_type=tf.int32)}
    probabilities = tf.sigmoid(outputs)
    return {"logits": outputs, "probabilities": probabilities, "labels": tf.cast(probabilities >= thresholds, tf.int32)}


def write_saved_model(model, spec, thresholds: np.ndarray, path: Path, signature_name: str) -> None:
    """Write the serving SavedModel to ``path``; its signature takes raw float32 inputs."""
    import keras
    import tensorflow as tf

    preprocessing = spec.preprocessing
    if preprocessing is not None:
        scale = tf.constant(preprocessing.scale, tf.float32)
        offset = tf.constant(preprocessing.offset, tf.float32)

    def serve(inputs):
        x = inputs * scale + offset if preprocessing is not None else inputs
        return serving_outputs(spec.task, model(x, training=False), thresholds)

    archive = keras.export.ExportArchive()
    archive.track(model)
    inputs = tf.TensorSpec((None, *spec.input_shape), tf.float32, name=INPUT_NAME)
    archive.add_endpoint(name=signature_name, fn=serve, input_signature=[inputs])
    archive.write_out(str(path), verbose=False)

