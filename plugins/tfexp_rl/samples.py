"""The small ``Datasets`` an RL run hands the runner: observations from random play.

The runner needs a ``Datasets`` (task, shapes) to compile the model, and MLflow infers
the exported policy's signature from ``x_test``; real observations make both right.
"""

from __future__ import annotations

import numpy as np

from tfexp.data import Datasets
from tfexp_rl.envs import EnvInfo, make_env


def observation_samples(info: EnvInfo, env_kwargs: dict, count: int, seed: int) -> Datasets:
    """``count`` observations from a random policy, with the random actions as targets,
    split half/quarter/quarter into train/val/test."""
    env = make_env(info.env_id, env_kwargs)
    env.action_space.seed(seed)
    observations, actions = [], []
    try:
        obs, _ = env.reset(seed=seed)
        while len(observations) < count:
            action = env.action_space.sample()
            observations.append(obs)
            actions.append(action)
            obs, _, terminated, truncated, _ = env.step(action)
            if terminated or truncated:
                obs, _ = env.reset()
    finally:
        env.close()
    x = np.asarray(observations, dtype=np.float32)
    if info.discrete:
        y = np.asarray(actions, dtype=np.int32) - info.action_start
        task, names = "multiclass", [f"action_{a + info.action_start}" for a in range(info.num_actions)]
    else:
        y = np.asarray(actions, dtype=np.float32)
        task, names = "regression", []
    half, quarter = count // 2, count // 4
    return Datasets(
        x[:half], y[:half], x[half : half + quarter], y[half : half + quarter], x[half + quarter :], y[half + quarter :],
        task=task, class_names=names,
    )
