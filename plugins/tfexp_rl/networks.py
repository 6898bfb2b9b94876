"""The agents' Keras networks, and the compiled greedy policy every caller shares."""

from __future__ import annotations

import math
from collections.abc import Callable


def mlp(obs_shape: tuple[int, ...], outputs: int, hidden_units, activation: str, head_gain: float, name: str):
    """An orthogonally initialized MLP (the usual choice for PPO/DQN on vector observations).

    ``head_gain`` scales the output layer: small for a policy head (near-uniform actions
    at the start), 1 for values."""
    import keras

    inputs = keras.Input(shape=obs_shape, name="observations")
    x = keras.layers.Flatten()(inputs) if len(obs_shape) > 1 else inputs
    for units in hidden_units:
        x = keras.layers.Dense(units, activation=activation, kernel_initializer=keras.initializers.Orthogonal(math.sqrt(2)))(x)
    outputs = keras.layers.Dense(outputs, kernel_initializer=keras.initializers.Orthogonal(head_gain), name="head")(x)
    return keras.Model(inputs, outputs, name=name)


def network_builder(run, rl_cfg, agent_cfg, obs_shape: tuple[int, ...]) -> Callable[..., object]:
    """``build(outputs, head_gain, name)`` from ``technique.network``: the technique's MLP,
    or the ``model`` group's builder (``model.name``, with its own settings)."""
    if rl_cfg.network == "model":
        spec = run.registry.get("model", run.cfg.model.name)

        def build(outputs: int, head_gain: float, name: str):
            return spec.build(run.cfg.model, obs_shape, outputs)

    else:

        def build(outputs: int, head_gain: float, name: str):
            return mlp(obs_shape, outputs, agent_cfg.hidden_units, agent_cfg.activation, head_gain, name)

    return build


def compiled(fn, *specs):
    """``fn`` traced once into a graph for inputs matching ``specs``, returning NumPy.

    Calls go to the concrete function directly: tf.function's per-call argument binding
    costs about as much as running these small networks, and action selection runs
    once per env step."""
    import tensorflow as tf

    concrete = tf.function(fn).get_concrete_function(*specs)

    def call(*args):
        out = concrete(*(tf.convert_to_tensor(a, s.dtype) for a, s in zip(args, specs)))
        return tuple(x.numpy() for x in out) if isinstance(out, (tuple, list)) else out.numpy()

    return call


def observation_spec(obs_shape: tuple[int, ...]):
    """A batch of observations of any size."""
    import tensorflow as tf

    return tf.TensorSpec([None, *obs_shape], tf.float32)


def greedy_policy(model, discrete: bool):
    """A compiled ``observations -> actions`` function: the best Q-value or most likely
    action for discrete outputs, the mean action for continuous ones. Any batch size."""
    import tensorflow as tf

    def act(obs):
        out = model(obs, training=False)
        return tf.argmax(out, axis=-1, output_type=tf.int32) if discrete else out

    return compiled(act, observation_spec(tuple(model.input_shape[1:])))
