"""DQN's replay buffer: fixed-size ring arrays in NumPy, sampled uniformly."""

from __future__ import annotations

import numpy as np

from tfexp_rl.checkpoints import rng_state, set_rng_state

FIELDS = ("obs", "next_obs", "actions", "rewards", "terminated")


class ReplayBuffer:
    """Stores transitions ``(obs, action, reward, next_obs, terminated)``; the oldest are
    overwritten once ``capacity`` is reached.

    ``terminated`` (not ``truncated``) stops bootstrapping: an episode cut by a time limit
    still has a future, so its last transition bootstraps from ``next_obs``."""

    def __init__(self, capacity: int, obs_shape: tuple[int, ...], seed: int):
        self.capacity = capacity
        self.obs = np.zeros((capacity, *obs_shape), dtype=np.float32)
        self.next_obs = np.zeros((capacity, *obs_shape), dtype=np.float32)
        self.actions = np.zeros(capacity, dtype=np.int32)
        self.rewards = np.zeros(capacity, dtype=np.float32)
        self.terminated = np.zeros(capacity, dtype=np.float32)
        self.size = 0
        self._next = 0
        self._rng = np.random.default_rng(seed)

    def __len__(self) -> int:
        return self.size

    def add(self, obs, actions, rewards, next_obs, terminated) -> None:
        """Add a batch of transitions (one per vector env)."""
        slots = (self._next + np.arange(len(actions))) % self.capacity
        self.obs[slots] = obs
        self.actions[slots] = actions
        self.rewards[slots] = rewards
        self.next_obs[slots] = next_obs
        self.terminated[slots] = terminated
        self._next = int(slots[-1] + 1) % self.capacity
        self.size = min(self.size + len(actions), self.capacity)

    def state(self) -> dict[str, np.ndarray]:
        """The stored transitions (only the filled part), the write position and the
        sampler's RNG: what a resumed DQN run needs to go on as if never stopped."""
        return {
            **{f"buffer/{name}": getattr(self, name)[: self.size] for name in FIELDS},
            "buffer/next": np.array(self._next), "buffer/rng": rng_state(self._rng),
        }

    def load(self, state: dict[str, np.ndarray]) -> None:
        self.size, self._next = len(state["buffer/actions"]), int(state["buffer/next"])
        for name in FIELDS:
            getattr(self, name)[: self.size] = state[f"buffer/{name}"]
        set_rng_state(self._rng, state["buffer/rng"])

    def sample(self, batches: int, batch_size: int) -> dict[str, np.ndarray]:
        """``batches`` minibatches at once, each array shaped ``(batches, batch_size, ...)``,
        so one compiled call can run all gradient steps of an update."""
        if self.size == 0:
            raise ValueError("cannot sample from an empty replay buffer")
        index = self._rng.integers(0, self.size, size=(batches, batch_size))
        return {
            "obs": self.obs[index],
            "actions": self.actions[index],
            "rewards": self.rewards[index],
            "next_obs": self.next_obs[index],
            "terminated": self.terminated[index],
        }
