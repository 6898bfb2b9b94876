"""Built-in Keras 3 functional models: ``mlp`` and ``cnn``. Outputs are logits."""

from tfexp import hookimpl
from tfexp.components import ModelSpec


def build_mlp(cfg, input_shape, num_outputs):
    import keras

    inputs = keras.Input(shape=input_shape, name="inputs")
    x = keras.layers.Flatten()(inputs)
    for units in cfg.hidden_units:
        x = keras.layers.Dense(units, activation=cfg.activation)(x)
        if cfg.dropout:
            x = keras.layers.Dropout(cfg.dropout)(x)
    outputs = keras.layers.Dense(num_outputs, name="logits", dtype="float32")(x)
    return keras.Model(inputs, outputs, name="mlp")


def build_cnn(cfg, input_shape, num_outputs):
    """Conv2D on images (H, W[, C]); Conv1D on vectors, read as one-channel signals."""
    import keras

    inputs = keras.Input(shape=input_shape, name="inputs")
    if len(input_shape) == 1:
        x = keras.layers.Reshape((input_shape[0], 1))(inputs)
        conv, pool = keras.layers.Conv1D, keras.layers.MaxPooling1D
    else:
        x = keras.layers.Reshape((*input_shape, 1))(inputs) if len(input_shape) == 2 else inputs
        conv, pool = keras.layers.Conv2D, keras.layers.MaxPooling2D
    for filters in cfg.filters:
        x = conv(filters, cfg.kernel_size, padding="same", activation="relu")(x)
        x = pool(2, padding="same")(x)
    x = keras.layers.Flatten()(x)
    x = keras.layers.Dense(cfg.dense_units, activation="relu")(x)
    if cfg.dropout:
        x = keras.layers.Dropout(cfg.dropout)(x)
    outputs = keras.layers.Dense(num_outputs, name="logits", dtype="float32")(x)
    return keras.Model(inputs, outputs, name="cnn")


@hookimpl
def tfexp_register_models():
    return [
        ModelSpec("mlp", build_mlp, "multi-layer perceptron (model.hidden_units, activation, dropout)"),
        ModelSpec("cnn", build_cnn, "small convnet for images or 1-D signals (model.filters, kernel_size, dense_units)"),
    ]
