"""Which agent class runs, and the env-step budget its schedules are spread over."""

from __future__ import annotations

from tfexp_rl.training import iterations_per_round


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
