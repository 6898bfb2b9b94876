"""RL's per-round checkpoint: what an agent and its loop need to continue after a kill.

The core's checkpoint module (``tfexp.checkpoint``) writes it, so RL gets the same
``state.json``, the same ``resume=`` and the same flush-before-commit as every other
technique. One ``tf.train.Checkpoint`` holds the networks, the optimizer, the TF random
generator and, as :class:`NumpyState`, the NumPy side: counters, NumPy RNG states, DQN's
replay buffer and the loop's records (best weights, return curve).

Not kept: the environments' own state. A resumed run resets its envs (seeded by the
env-step count), so an episode that was in progress at the checkpoint starts over.
"""

from __future__ import annotations

import io
import json
from collections.abc import Callable

import numpy as np

STAGE = "rl"
"""The stage name in ``state.json``: the runner leaves restoring to the RL loop."""


def rng_state(rng: np.random.Generator) -> np.ndarray:
    """A NumPy generator's state as a storable array (its 128-bit ints survive JSON)."""
    return np.array(json.dumps(rng.bit_generator.state))


def set_rng_state(rng: np.random.Generator, state: np.ndarray) -> None:
    rng.bit_generator.state = json.loads(str(state))


def numpy_state(get: Callable[[], dict[str, np.ndarray]], set_: Callable[[dict[str, np.ndarray]], None]):
    """A checkpoint entry for NumPy state: ``get()`` when written, ``set_(arrays)`` when read."""
    import tensorflow as tf

    class NumpyState(tf.train.experimental.PythonState):
        def serialize(self):
            buffer = io.BytesIO()
            np.savez(buffer, **get())
            return buffer.getvalue()

        def deserialize(self, string):
            with np.load(io.BytesIO(string), allow_pickle=False) as arrays:
                set_({key: arrays[key] for key in arrays.files})

    return NumpyState()


def agent_checkpoint(agent, loop):
    """The ``tf.train.Checkpoint`` of ``agent`` (its ``trackables()``) and of ``loop``
    (the training loop's records, a :class:`tfexp_rl.training.LoopState`)."""
    import tensorflow as tf

    return tf.train.Checkpoint(**agent.trackables(), loop=numpy_state(loop.arrays, loop.load))
