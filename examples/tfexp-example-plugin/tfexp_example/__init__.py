"""An example tfexp plugin: one model, one dataset, one lifecycle hook.

Nothing heavy is imported at module level: tfexp imports every plugin to list and
validate it, and that must stay fast.
"""

from __future__ import annotations

from dataclasses import dataclass

from tfexp import hookimpl
from tfexp.components import DatasetSpec, ModelSpec
from tfexp.config import check_schema


@dataclass
class ResMLPConfig:
    name: str = "example_resmlp"
    width: int = 64
    blocks: int = 2


@dataclass
class MoonsConfig:
    name: str = "example_moons"
    n_samples: int = 1000
    noise: float = 0.2
    val_fraction: float = 0.15
    test_fraction: float = 0.2


def build_resmlp(cfg, input_shape, num_outputs):
    import keras

    inputs = keras.Input(shape=input_shape)
    x = keras.layers.Dense(cfg.width, activation="relu")(keras.layers.Flatten()(inputs))
    for _ in range(cfg.blocks):
        x = keras.layers.Add()([x, keras.layers.Dense(cfg.width, activation="relu")(x)])
    outputs = keras.layers.Dense(num_outputs, name="logits")(x)
    return keras.Model(inputs, outputs, name="example_resmlp")


def load_moons(cfg, seed):
    from sklearn.datasets import make_moons
    from sklearn.model_selection import train_test_split

    from tfexp.data import Datasets

    x, y = make_moons(n_samples=cfg.n_samples, noise=cfg.noise, random_state=seed)
    x, y = x.astype("float32"), y.astype("int32")
    x_rest, x_test, y_rest, y_test = train_test_split(x, y, test_size=cfg.test_fraction, random_state=seed, stratify=y)
    x_train, x_val, y_train, y_val = train_test_split(
        x_rest, y_rest, test_size=cfg.val_fraction / (1 - cfg.test_fraction), random_state=seed, stratify=y_rest
    )
    return Datasets(x_train, y_train, x_val, y_val, x_test, y_test, class_names=["upper", "lower"])


@hookimpl
def tfexp_register_models():
    return [ModelSpec("example_resmlp", build_resmlp, "residual MLP (model.width, model.blocks)")]


@hookimpl
def tfexp_register_datasets():
    return [DatasetSpec("example_moons", load_moons, "two interleaving half-moons (data.n_samples, data.noise)")]


@hookimpl
def tfexp_configure(cfg):
    """Type-check this plugin's own config nodes, so a typo fails before training."""
    if cfg.model.name == "example_resmlp":
        check_schema(cfg.model, ResMLPConfig, "model")
    if cfg.data.name == "example_moons":
        check_schema(cfg.data, MoonsConfig, "data")


@hookimpl
def tfexp_before_fit(run, model):
    """Tag every run with the model size (a lifecycle hook that adds to tracking). A count
    is bookkeeping, not a training curve: a tag or param, never a metric."""
    run.set_tags({"example.trainable_params": str(model.count_params())})
    return []
