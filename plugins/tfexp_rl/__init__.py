"""The ``rl`` technique: DQN and PPO agents on gymnasium environments (``+experiment=rl``).

RL does not fit ``model.fit``, so the technique takes over the runner's firstresult hooks:

- ``tfexp_build_data``: the env's observation and action spec, with no examples
  (``tfexp_rl.env_data``); its samples of the observation space give the exported
  model's MLflow signature;
- ``tfexp_build_model``: builds the agent; its policy (PPO) or Q-network (DQN) is the
  run's model, exported like any other;
- ``tfexp_run_fit``: the agent's own loop (``tfexp_rl.training``);
- ``tfexp_evaluate``: greedy returns over ``technique.test_episodes`` episodes.

Nothing heavy is imported here: config errors stay fast.
"""

from __future__ import annotations

from tfexp import hookimpl
from tfexp.components import TechniqueSpec
from tfexp.errors import ConfigError

TEST_SEED_OFFSET = 1_000_000
"""Final-evaluation episodes start from other states than the per-round evaluations."""
EVAL_SEED_OFFSET = 500_000


class RL:
    """One run's agent, environment description and evaluation."""

    def __init__(self, cfg):
        self.cfg = cfg
        self.agent = None

    @hookimpl
    def tfexp_configure(self, cfg):
        from tfexp_rl.config import check_rl_config
        from tfexp_rl.envs import check_rendering, describe_env

        self.rl = rl = check_rl_config(cfg.technique)
        self.subject = {"agent": rl.agent, "env": rl.env_id}  # run name, tags, summary, export name
        if cfg.strategy.name != "default":
            raise ConfigError(f"strategy={cfg.strategy.name}: the rl technique trains on one device with its own loop. Use strategy=default.")
        if cfg.trainer.steps is not None:
            raise ConfigError(f"trainer.steps={cfg.trainer.steps}: the rl technique's budget is env steps, technique.total_steps (split into trainer.epochs rounds). Use technique.total_steps={cfg.trainer.steps}.")
        self.env_kwargs = dict(rl.env_kwargs)
        self.info = describe_env(rl.env_id, self.env_kwargs, rl.agent)
        self.solved_return = rl.solved_return if rl.solved_return is not None else self.info.reward_threshold
        if rl.record_video:
            check_rendering(rl.env_id, self.env_kwargs)

    @hookimpl
    def tfexp_build_data(self, run):
        from tfexp_rl.env_data import EnvData

        return EnvData(self.info, self.env_kwargs)

    @hookimpl
    def tfexp_build_model(self, run, data):
        from tfexp_rl.agents import make_agent

        self.agent = make_agent(run, self.rl, self.info)
        run.set_tags({"rl.agent": self.rl.agent, "rl.env_id": self.rl.env_id})
        return self.agent.model

    @hookimpl
    def tfexp_run_fit(self, run, model, data, callbacks):
        from tfexp_rl.evaluation import Evaluator
        from tfexp_rl.networks import greedy_policy
        from tfexp_rl.training import train

        # The runner compiled the model with an optimizer the agent never uses; built, it
        # saves state that matches the model, so loading the exported model stays quiet.
        model.optimizer.build(model.trainable_variables)
        evaluator = Evaluator(self.info, self.env_kwargs, self.rl.eval_episodes, run.cfg.seed + EVAL_SEED_OFFSET)
        try:
            return train(run, self.agent, evaluator, greedy_policy(model, self.info.discrete), self.rl, self.solved_return)
        finally:
            evaluator.close()
            self.agent.close()

    @hookimpl
    def tfexp_evaluate(self, run, model, data):
        from tfexp_rl.evaluation import Evaluator, record_gif
        from tfexp_rl.networks import greedy_policy

        policy = greedy_policy(model, self.info.discrete)
        seed = run.cfg.seed + TEST_SEED_OFFSET
        evaluator = Evaluator(self.info, self.env_kwargs, self.rl.test_episodes, seed)
        try:
            result = evaluator(policy)
        finally:
            evaluator.close()
        if self.rl.record_video:
            path = record_gif(policy, self.info, self.env_kwargs, seed, run.output_dir / "videos" / "eval_episode.gif")
            run.log_artifact(path, "videos")
        metrics = result.metrics()
        if self.solved_return is not None:
            metrics["solved"] = float(metrics["eval_return_mean"] >= self.solved_return)
        return metrics


@hookimpl
def tfexp_register_techniques():
    return [TechniqueSpec("rl", RL, "DQN or PPO on a gymnasium environment (technique.agent, technique.env_id)")]
