"""Gymnasium environments as the agents see them: made, checked, vectorized, counted.

Every env is made the same way (``make_env``), so training, evaluation, video and the
play script see the same observations: Box observations as they are, any other space
(Discrete, Dict, Tuple, ...) flattened to a vector by gymnasium's ``FlattenObservation``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from tfexp.errors import ConfigError

SUPPORTED_ACTIONS = {"dqn": ("Discrete",), "ppo": ("Discrete", "Box")}


@dataclass(frozen=True)
class EnvInfo:
    """What the networks and the loop need to know about an environment."""

    env_id: str
    obs_shape: tuple[int, ...]
    discrete: bool
    num_actions: int
    """Discrete: the number of actions; Box: the action vector's length."""
    action_start: int = 0
    action_low: np.ndarray | None = None
    action_high: np.ndarray | None = None
    reward_threshold: float | None = None

    def to_env(self, actions: np.ndarray) -> np.ndarray:
        """The agents' actions (indices from 0, unbounded vectors) as the env takes them."""
        if self.discrete:
            return actions.astype(np.int64) + self.action_start
        return np.clip(actions, self.action_low, self.action_high).astype(np.float32)


def make_env(env_id: str, env_kwargs: dict, render_mode: str | None = None):
    """One env, observations flattened unless they are a Box."""
    import gymnasium as gym

    env = gym.make(env_id, render_mode=render_mode, **env_kwargs)
    if not isinstance(env.observation_space, gym.spaces.Box):
        env = gym.wrappers.FlattenObservation(env)
    return env


def make_vector_env(env_id: str, env_kwargs: dict, num_envs: int):
    """``num_envs`` copies stepped together (gymnasium's sync vector API).

    Same-step autoreset: a finished env's last observation is in ``infos["final_obs"]``
    and the returned observation already starts its next episode."""
    from gymnasium.vector import AutoresetMode, SyncVectorEnv

    return SyncVectorEnv(
        [lambda: make_env(env_id, env_kwargs) for _ in range(num_envs)],
        autoreset_mode=AutoresetMode.SAME_STEP,
    )


def describe_env(env_id: str, env_kwargs: dict, agent: str) -> EnvInfo:
    """Make the env once and check that ``agent`` can act in it; raise ConfigError if not."""
    import gymnasium as gym

    try:
        env = make_env(env_id, env_kwargs)
    except (gym.error.Error, ModuleNotFoundError) as exc:
        raise ConfigError(
            f"technique.env_id={env_id!r} cannot be made: {exc}. Use a registered gymnasium id "
            "(CartPole-v1, Acrobot-v1, ...) or 'your.module:YourEnv-v0' for one your module registers."
        ) from exc
    except TypeError as exc:
        raise ConfigError(f"technique.env_kwargs do not fit {env_id}: {exc}. Fix or remove technique.env_kwargs.") from exc
    except (ValueError, NotImplementedError) as exc:  # FlattenObservation on an unflattenable space
        raise ConfigError(f"{env_id}'s observation space cannot be flattened to a vector ({exc}); tfexp rl needs Box or flattenable observations.") from exc
    try:
        space = env.action_space
        kind = type(space).__name__
        if kind not in SUPPORTED_ACTIONS[agent]:
            raise ConfigError(
                f"technique.agent={agent} cannot act in {env_id}: its action space is {space} ({kind}); "
                f"{agent} supports {' and '.join(SUPPORTED_ACTIONS[agent])} actions. "
                + ("Use technique.agent=ppo for continuous actions." if agent == "dqn" else "Pick another env.")
            )
        obs_shape = tuple(int(d) for d in env.observation_space.shape)
        threshold = env.spec.reward_threshold if env.spec else None
        if isinstance(space, gym.spaces.Discrete):
            return EnvInfo(env_id, obs_shape, True, int(space.n), int(space.start), reward_threshold=threshold)
        if len(space.shape) != 1:
            raise ConfigError(f"{env_id}'s action space {space} is not a vector; tfexp rl supports 1-D Box actions.")
        return EnvInfo(env_id, obs_shape, False, int(space.shape[0]), action_low=space.low, action_high=space.high, reward_threshold=threshold)
    finally:
        env.close()


def check_rendering(env_id: str, env_kwargs: dict) -> None:
    """Fail before training when ``record_video`` cannot render this env here."""
    import gymnasium as gym

    try:
        env = make_env(env_id, env_kwargs, render_mode="rgb_array")
    except gym.error.Error as exc:
        raise ConfigError(f"technique.record_video=true but {env_id} cannot render rgb_array frames: {exc}. Set technique.record_video=false.") from exc
    try:
        env.reset(seed=0)
        frame = env.render()
    except gym.error.DependencyNotInstalled as exc:
        raise ConfigError(
            f"technique.record_video=true needs {env_id}'s rendering extras: {exc}. "
            "Install them, or set technique.record_video=false."
        ) from exc
    finally:
        env.close()
    if not isinstance(frame, np.ndarray) or frame.ndim != 3:
        raise ConfigError(f"technique.record_video=true but {env_id}.render() returned no RGB frame. Set technique.record_video=false.")


class EpisodeCounter:
    """Running return and length per vector slot; finished episodes wait in ``finished``."""

    def __init__(self, num_envs: int):
        self.returns = np.zeros(num_envs, dtype=np.float64)
        self.lengths = np.zeros(num_envs, dtype=np.int64)
        self.finished: list[tuple[float, int, int]] = []
        """(return, length, env steps when it ended)."""

    def step(self, rewards: np.ndarray, dones: np.ndarray, env_steps: int) -> None:
        self.returns += rewards
        self.lengths += 1
        for i in np.flatnonzero(dones):
            self.finished.append((float(self.returns[i]), int(self.lengths[i]), env_steps))
            self.returns[i], self.lengths[i] = 0.0, 0

    def drain(self) -> list[tuple[float, int, int]]:
        finished, self.finished = self.finished, []
        return finished


def real_next_obs(next_obs: np.ndarray, infos: dict) -> np.ndarray:
    """The observation each env reached, even where it was reset in the same step."""
    if "final_obs" not in infos:
        return next_obs
    reached = next_obs.copy()
    for i in np.flatnonzero(infos["_final_obs"]):
        reached[i] = infos["final_obs"][i]
    return reached
