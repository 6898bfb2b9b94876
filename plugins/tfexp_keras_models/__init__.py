"""Built-in Keras 3 functional models: ``mlp``, ``cnn``, and ``auto``, which builds one of
them by what the data's inputs are. Outputs are logits."""

from tfexp import hookimpl
from tfexp.components import ModelSpec
from tfexp.data.spec import INPUT_KINDS, input_kind
from tfexp.errors import ConfigError


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
    """By :func:`~tfexp.data.spec.input_kind` (docs/data.md, "Inputs by rank"): Conv2D over
    images (H, W, C), Conv1D over sequences (length, channels), and Conv1D over any other
    input flattened to a one-channel signal (features, 1)."""
    import keras

    inputs = keras.Input(shape=input_shape, name="inputs")
    x = inputs
    kind = input_kind(tuple(input_shape))
    if kind == "image":
        conv, pool = keras.layers.Conv2D, keras.layers.MaxPooling2D
    else:
        conv, pool = keras.layers.Conv1D, keras.layers.MaxPooling1D
        if kind == "tabular":
            x = keras.layers.Reshape((-1, 1))(inputs)
    for filters in cfg.filters:
        x = conv(filters, cfg.kernel_size, padding="same", activation="relu")(x)
        x = pool(2, padding="same")(x)
    x = keras.layers.Flatten()(x)
    x = keras.layers.Dense(cfg.dense_units, activation="relu")(x)
    if cfg.dropout:
        x = keras.layers.Dropout(cfg.dropout)(x)
    outputs = keras.layers.Dense(num_outputs, name="logits", dtype="float32")(x)
    return keras.Model(inputs, outputs, name="cnn")


def kind_model(cfg, kind: str):
    """``model=auto``'s config for inputs of ``kind`` (its key: ``image``, ``sequence`` or
    ``tabular``); one that is not cnn's or mlp's fails in one line."""
    from omegaconf import OmegaConf

    node = cfg.get(kind)
    if not (OmegaConf.is_dict(node) and node.get("name") in ("cnn", "mlp")):
        raise ConfigError(f"model.{kind}={node!r} cannot be built for {kind} inputs: model=auto builds cnn or mlp from "
                          f"model.{kind}; put back tfexp's model/auto.yaml or use model=cnn or model=mlp")
    return node


def chosen(cfg, input_shape) -> tuple[str, object]:
    """``model=auto``: the kind of the inputs and the config of the model it builds for them."""
    kind = input_kind(tuple(input_shape))
    return kind, kind_model(cfg, kind)


def build_auto(cfg, input_shape, num_outputs):
    """The CNN for images and sequences, the MLP for tabular rows (tfexp/conf/model/auto.yaml)."""
    _, node = chosen(cfg, input_shape)
    return (build_cnn if node.name == "cnn" else build_mlp)(node, input_shape, num_outputs)


@hookimpl
def tfexp_register_models():
    return [
        ModelSpec("mlp", build_mlp, "multi-layer perceptron (model.hidden_units, activation, dropout)"),
        ModelSpec("cnn", build_cnn, "small convnet: 2-D over images, 1-D over sequences and rows (model.filters, kernel_size, dense_units)"),
        ModelSpec("auto", build_auto, "cnn for images and sequences, mlp for tabular rows (model.image, sequence, tabular)"),
    ]


@hookimpl
def tfexp_configure(cfg) -> None:
    """``model=auto`` has a model for every kind of input, checked before anything heavy."""
    if cfg.model.name == "auto":
        for kind in INPUT_KINDS.values():
            kind_model(cfg.model, kind)


@hookimpl
def tfexp_before_fit(run, model) -> list:
    """``model=auto`` says what it built, as params runs can be compared by:
    ``model.chosen`` (cnn or mlp) and ``model.input_kind`` (image, sequence or tabular)."""
    if run.cfg.model.name == "auto" and run.data is not None:
        kind, node = chosen(run.cfg.model, run.data.spec.input_shape)
        run.log_params({"model.chosen": node.name, "model.input_kind": kind})
    return []
