"""Which agent class runs, the env-step budget its schedules are spread over, and what
every agent shares: vector envs, counters and its checkpoint."""

from __future__ import annotations

import numpy as np

from tfexp_rl.checkpoints import numpy_state
from tfexp_rl.envs import EpisodeCounter
from tfexp_rl.training import iterations_per_round


class Agent:
    """The part of PPO and DQN the loop and the checkpoint see. Subclasses set ``model``,
    ``optimizer``, ``rng`` (a ``tf.random.Generator``), ``envs`` and ``seed``, and list
    their other state in ``networks()`` and ``arrays()``."""

    env_steps = 0

    def restart_envs(self) -> None:
        """New episodes in every env, seeded by the env-step count (a resumed run starts
        here: the envs' own state is not checkpointed)."""
        self.obs = self.envs.reset(seed=self.seed + self.env_steps)[0].astype(np.float32)
        self.episodes = EpisodeCounter(len(self.obs))

    def networks(self) -> dict:
        return {"model": self.model}

    def arrays(self) -> dict[str, np.ndarray]:
        """NumPy state to checkpoint besides the env-step count."""
        return {}

    def load_arrays(self, arrays: dict[str, np.ndarray]) -> None:
        pass

    def trackables(self) -> dict:
        """What the round checkpoint holds for this agent (``tfexp_rl.checkpoints``)."""

        def get():
            return {"env_steps": np.array(self.env_steps), **self.arrays()}

        def load(arrays):
            self.env_steps = int(arrays["env_steps"])
            self.load_arrays(arrays)
            self.restart_envs()

        return {**self.networks(), "optimizer": self.optimizer, "rng": self.rng, "agent": numpy_state(get, load)}

    def close(self) -> None:
        self.envs.close()


def steps_per_iteration(rl_cfg) -> int:
    """Env steps between two updates: a PPO rollout, or DQN's ``train_freq`` steps per env."""
    if rl_cfg.agent == "dqn":
        return rl_cfg.dqn.train_freq * rl_cfg.dqn.num_envs
    return rl_cfg.ppo.num_envs * rl_cfg.ppo.n_steps


def planned_env_steps(trainer_cfg, rl_cfg) -> int:
    """The run's whole budget (``debug=fast`` shortens it), so that epsilon and a linear
    learning rate reach their end values at the end of the run, however long it is."""
    per_iteration = steps_per_iteration(rl_cfg)
    return trainer_cfg.epochs * iterations_per_round(trainer_cfg, rl_cfg.total_steps, per_iteration) * per_iteration


def make_agent(run, rl_cfg, info):
    from tfexp_rl.dqn import DQN
    from tfexp_rl.networks import network_builder
    from tfexp_rl.ppo import PPO

    agent_class = {"dqn": DQN, "ppo": PPO}[rl_cfg.agent]
    build = network_builder(run, rl_cfg, rl_cfg[rl_cfg.agent], info.obs_shape)
    return agent_class(rl_cfg, run.cfg.trainer.optimizer, info, build, run.cfg.seed, planned_env_steps(run.cfg.trainer, rl_cfg))
