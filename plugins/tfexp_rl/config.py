"""The ``technique`` keys of ``rl``: types (checked by OmegaConf) and ranges (checked here).

No TensorFlow or gymnasium here: a wrong key must fail in well under a second.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from omegaconf import OmegaConf

from tfexp.config import check_schema
from tfexp.errors import ConfigError

AGENTS = ("dqn", "ppo")
NETWORKS = ("technique", "model")
LR_SCHEDULES = ("constant", "linear")


@dataclass
class DQNConfig:
    num_envs: int = 1
    hidden_units: list[int] = field(default_factory=lambda: [256, 256])
    activation: str = "relu"
    learning_rate: float = 2.3e-3
    batch_size: int = 64
    buffer_size: int = 100_000
    learning_starts: int = 1000
    """Env steps of random-free collection (with the epsilon schedule) before the first update."""
    train_freq: int = 256
    """Env steps per env between two updates (one update = ``gradient_steps`` gradient steps)."""
    gradient_steps: int = 128
    target_update_every: int = 128
    """Gradient steps between target-network updates."""
    tau: float = 1.0
    """Target update weight: 1.0 copies the online network (periodic), < 1 is Polyak averaging."""
    double: bool = True
    epsilon_start: float = 1.0
    epsilon_end: float = 0.04
    exploration_fraction: float = 0.16
    """Share of the env-step budget over which epsilon decays linearly to ``epsilon_end``."""
    max_grad_norm: float = 10.0


@dataclass
class PPOConfig:
    num_envs: int = 8
    n_steps: int = 32
    """Env steps per env in one rollout (a rollout is ``num_envs * n_steps`` transitions)."""
    hidden_units: list[int] = field(default_factory=lambda: [64, 64])
    activation: str = "tanh"
    learning_rate: float = 1e-3
    batch_size: int = 64
    """Minibatch size (at most one rollout)."""
    epochs: int = 10
    """Passes over each rollout, in minibatches of ``batch_size``."""
    gae_lambda: float = 0.95
    clip_range: float = 0.2
    vf_coef: float = 0.5
    ent_coef: float = 0.0
    normalize_advantage: bool = True
    max_grad_norm: float = 0.5


@dataclass
class RLConfig:
    name: str = "rl"
    agent: str = "ppo"
    env_id: str = "CartPole-v1"
    env_kwargs: dict[str, Any] = field(default_factory=dict)
    total_steps: int = 100_000
    """Env-step budget, split into ``trainer.epochs`` rounds (see docs/rl.md for debug=fast)."""
    gamma: float = 0.99
    network: str = "technique"
    """``technique``: an MLP from ``<agent>.hidden_units``; ``model``: the ``model`` group builds it."""
    lr_schedule: str = "constant"
    eval_episodes: int = 20
    """Greedy episodes per evaluation round (after each epoch)."""
    test_episodes: int = 100
    """Greedy episodes of the final evaluation (``test_eval_return_mean``)."""
    solved_return: float | None = None
    """Eval return that counts as solved; null: the env's ``reward_threshold`` (475 for CartPole-v1)."""
    stop_when_solved: bool = False
    keep_best: bool = True
    """Restore the weights of the best evaluation round before the final evaluation and export."""
    record_video: bool = False
    jit_compile: bool = True
    """Compile the updates with XLA (3-6x faster for these small networks on CPU)."""
    dqn: DQNConfig = field(default_factory=DQNConfig)
    ppo: PPOConfig = field(default_factory=PPOConfig)


def _require(ok: bool, key: str, expected: str, value: Any) -> None:
    if not ok:
        raise ConfigError(f"technique.{key}={value!r} is invalid: expected {expected}. Set it on the command line (technique.{key}=...).")


def check_rl_config(node) -> RLConfig:
    """The typed technique node with defaults filled in, after range checks."""
    cfg = check_schema(node, RLConfig, "technique")
    _require(cfg.agent in AGENTS, "agent", " or ".join(AGENTS), cfg.agent)
    _require(cfg.network in NETWORKS, "network", " or ".join(NETWORKS), cfg.network)
    _require(cfg.lr_schedule in LR_SCHEDULES, "lr_schedule", " or ".join(LR_SCHEDULES), cfg.lr_schedule)
    _require(cfg.total_steps >= 1, "total_steps", "an integer >= 1", cfg.total_steps)
    _require(0 <= cfg.gamma <= 1, "gamma", "a discount between 0 and 1", cfg.gamma)
    _require(cfg.eval_episodes >= 1, "eval_episodes", "an integer >= 1", cfg.eval_episodes)
    _require(cfg.test_episodes >= 1, "test_episodes", "an integer >= 1", cfg.test_episodes)
    d, p = cfg.dqn, cfg.ppo
    for key in ("dqn.num_envs", "dqn.batch_size", "dqn.buffer_size", "dqn.train_freq", "dqn.gradient_steps",
                "dqn.target_update_every", "ppo.num_envs", "ppo.n_steps", "ppo.batch_size", "ppo.epochs"):
        value = OmegaConf.select(cfg, key)
        _require(value >= 1, key, "an integer >= 1", value)
    _require(d.learning_starts >= 0, "dqn.learning_starts", "an integer >= 0", d.learning_starts)
    _require(0 < d.tau <= 1, "dqn.tau", "a weight in (0, 1]", d.tau)
    for key in ("epsilon_start", "epsilon_end", "exploration_fraction"):
        _require(0 <= d[key] <= 1, f"dqn.{key}", "a number between 0 and 1", d[key])
    _require(0 <= p.gae_lambda <= 1, "ppo.gae_lambda", "a number between 0 and 1", p.gae_lambda)
    _require(p.clip_range > 0, "ppo.clip_range", "a number > 0", p.clip_range)
    for key in ("dqn.learning_rate", "ppo.learning_rate", "dqn.max_grad_norm", "ppo.max_grad_norm"):
        _require(OmegaConf.select(cfg, key) > 0, key, "a number > 0", OmegaConf.select(cfg, key))
    for key in ("vf_coef", "ent_coef"):
        _require(p[key] >= 0, f"ppo.{key}", "a number >= 0", p[key])
    for agent in ("dqn", "ppo"):
        units = cfg[agent].hidden_units
        _require(len(units) >= 1 and all(u >= 1 for u in units), f"{agent}.hidden_units", "a non-empty list of positive integers", list(units))
    return cfg
