"""Generalized advantage estimation (Schulman et al. 2016) over a rollout."""

from __future__ import annotations

import numpy as np


def compute_gae(rewards, values, dones, last_values, gamma: float, lam: float) -> tuple[np.ndarray, np.ndarray]:
    """Advantages and returns (advantage + value) for arrays shaped ``(steps, envs)``.

    ``dones[t]`` marks that the episode ended with step ``t``: nothing after it is
    bootstrapped (a time-limit cut has its bootstrap value folded into ``rewards[t]``
    by the caller). ``last_values`` are the values of the observations after the last step.
    """
    steps = len(rewards)
    advantages = np.zeros_like(rewards, dtype=np.float32)
    running = np.zeros_like(last_values, dtype=np.float32)
    for t in reversed(range(steps)):
        next_values = last_values if t == steps - 1 else values[t + 1]
        alive = 1.0 - dones[t]
        delta = rewards[t] + gamma * next_values * alive - values[t]
        running = delta + gamma * lam * alive * running
        advantages[t] = running
    return advantages, advantages + values
