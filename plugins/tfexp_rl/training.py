"""The RL training loop behind ``tfexp_run_fit``: rounds of env steps, each ending in a
greedy evaluation that is the round's "epoch" for tfexp's hooks and trackers.

Budget: ``trainer.epochs`` rounds of ``iterations_per_round`` agent iterations (a PPO
rollout and its update; ``dqn.train_freq`` steps per env and one DQN update). Every
``trainer.checkpoint_every`` rounds the agent and the loop are checkpointed through the
core's checkpoint module (``tfexp_rl.checkpoints``), so ``resume=`` continues at that round
and env-step count; SIGTERM stops after the next update.
"""

from __future__ import annotations

import json
import logging
import math
import time
from dataclasses import asdict, dataclass, field

import numpy as np

from tfexp.checkpoint import restore_checkpoint, save_checkpoint, stop_if_preempted
from tfexp_rl.checkpoints import STAGE, agent_checkpoint

log = logging.getLogger("tfexp.rl")


def iterations_per_round(trainer_cfg, total_steps: int, steps_per_iteration: int) -> int:
    """``trainer.steps_per_epoch`` when set (``debug=fast``: 5), else enough iterations for
    ``total_steps`` env steps over ``trainer.epochs`` rounds."""
    if trainer_cfg.steps_per_epoch:
        return int(trainer_cfg.steps_per_epoch)
    return max(1, math.ceil(total_steps / (trainer_cfg.epochs * steps_per_iteration)))


@dataclass
class Curve:
    """What the return-curve figure shows."""

    episode_steps: list[int] = field(default_factory=list)
    episode_returns: list[float] = field(default_factory=list)
    eval_steps: list[int] = field(default_factory=list)
    eval_means: list[float] = field(default_factory=list)
    eval_stds: list[float] = field(default_factory=list)


@dataclass
class LoopState:
    """The loop's records that a resumed run continues (checkpointed with the agent)."""

    curve: Curve = field(default_factory=Curve)
    best_return: float = -math.inf
    best_weights: list = field(default_factory=list)
    env_steps_to_solve: int = -1
    wall_time_s: float = 0.0
    """Training time of the processes before this one."""
    started: float = field(default_factory=time.perf_counter)

    def elapsed(self) -> float:
        return self.wall_time_s + time.perf_counter() - self.started

    def arrays(self) -> dict[str, np.ndarray]:
        return {
            "curve": np.array(json.dumps(asdict(self.curve))), "best_return": np.array(self.best_return),
            "env_steps_to_solve": np.array(self.env_steps_to_solve), "wall_time_s": np.array(self.elapsed()),
            **{f"best/{i}": w for i, w in enumerate(self.best_weights)},
        }

    def load(self, arrays: dict[str, np.ndarray]) -> None:
        self.curve = Curve(**json.loads(str(arrays["curve"])))
        self.best_return, self.wall_time_s = float(arrays["best_return"]), float(arrays["wall_time_s"])
        self.env_steps_to_solve = int(arrays["env_steps_to_solve"])
        self.best_weights = [arrays[f"best/{i}"] for i in range(sum(k.startswith("best/") for k in arrays))]
        self.started = time.perf_counter()


def train(run, agent, evaluator, policy, rl_cfg, solved_return: float | None) -> dict:
    """Train ``agent`` for the budget, evaluate ``policy`` (its greedy policy) every round,
    and log everything through ``run``. Returns the run's history."""
    trainer = run.cfg.trainer
    iterations = iterations_per_round(trainer, rl_cfg.total_steps, agent.steps_per_iteration)
    log.info("rl: %s on %s, %d rounds x %d iterations x %d env steps", rl_cfg.agent, rl_cfg.env_id, trainer.epochs, iterations, agent.steps_per_iteration)
    loop = LoopState()
    first_round = _start_or_resume(run, agent, loop)
    if loop.env_steps_to_solve >= 0 and rl_cfg.stop_when_solved:
        first_round = trainer.epochs  # it stopped, solved, before the kill
    for round_ in range(first_round, trainer.epochs):
        round_start, round_steps, train_returns = time.perf_counter(), agent.env_steps, []
        progress = _progress_bar(trainer, round_, iterations)
        for i in range(iterations):
            update = agent.iterate()
            finished = agent.episodes.drain()
            for episode_return, length, step in finished:
                loop.curve.episode_steps.append(step)
                loop.curve.episode_returns.append(episode_return)
                train_returns.append(episode_return)
            _log_episodes(run, finished)
            if update:
                run.log_metrics({f"update/{k}": v for k, v in update.items()}, step=agent.env_steps)
            if progress:
                progress.update(i + 1, [("env_steps", agent.env_steps), *update.items()])
            stop_if_preempted(run, "after an rl update")
        steps_per_second = (agent.env_steps - round_steps) / (time.perf_counter() - round_start)
        result = evaluator(policy)
        logs = {**result.metrics(), "env_steps": agent.env_steps, "env_steps_per_second": steps_per_second}
        if train_returns:
            logs["train_return_mean"] = sum(train_returns) / len(train_returns)
        run.epoch_end(round_, logs)
        loop.curve.eval_steps.append(agent.env_steps)
        loop.curve.eval_means.append(logs["eval_return_mean"])
        loop.curve.eval_stds.append(logs["eval_return_std"])
        if trainer.verbose:
            log.info("rl round %d/%d: env_steps=%d eval_return=%.1f±%.1f (%d episodes) %.0f env steps/s",
                     round_ + 1, trainer.epochs, agent.env_steps, logs["eval_return_mean"], logs["eval_return_std"], len(result.returns), steps_per_second)
        if logs["eval_return_mean"] > loop.best_return:
            loop.best_return, loop.best_weights = logs["eval_return_mean"], agent.model.get_weights()
        solved = solved_return is not None and logs["eval_return_mean"] >= solved_return
        if solved and loop.env_steps_to_solve < 0:
            loop.env_steps_to_solve = agent.env_steps
            run.log_metrics({"env_steps_to_solve": agent.env_steps, "wall_time_to_solve_s": loop.elapsed()}, step=round_)
        if trainer.checkpoint_every and ((round_ + 1) % trainer.checkpoint_every == 0 or (solved and rl_cfg.stop_when_solved)):
            save_checkpoint(run, agent_checkpoint(agent, loop), round_, STAGE)
        if solved and rl_cfg.stop_when_solved:
            log.info("rl: solved (eval return %.1f >= %.1f) after %d env steps; stopping", logs["eval_return_mean"], solved_return, agent.env_steps)
            break
    if loop.env_steps_to_solve >= 0:
        run.info["env_steps_to_solve"] = loop.env_steps_to_solve
    if rl_cfg.keep_best and loop.best_weights:
        agent.model.set_weights(loop.best_weights)
        run.set_tags({"rl.kept_best_eval_return": f"{loop.best_return:.2f}"})
    run.log_metrics({"train_wall_time_s": loop.elapsed(), "total_env_steps": agent.env_steps}, step=trainer.epochs)
    run.log_figure(return_curve(loop.curve, rl_cfg, solved_return), "return_curve.png")
    return run.history


def _log_episodes(run, finished: list[tuple[float, int, int]]) -> None:
    """``episode/return`` and ``episode/length`` at the env step each episode ended; the
    mean where several envs ended one at the same step (a step is logged once)."""
    by_step: dict[int, list[tuple[float, int]]] = {}
    for episode_return, length, step in finished:
        by_step.setdefault(step, []).append((episode_return, length))
    for step, episodes in by_step.items():
        returns, lengths = zip(*episodes)
        run.log_metrics({"episode/return": sum(returns) / len(returns), "episode/length": sum(lengths) / len(lengths)}, step=step)


def _start_or_resume(run, agent, loop: LoopState) -> int:
    """The first round to train: after ``resume=``, the one after the checkpoint (agent and
    loop restored); otherwise 0, with a checkpoint of the untrained agent written first."""
    if state := run.info.get("resume"):
        restore_checkpoint(run, agent_checkpoint(agent, loop), state)
        log.info("rl: resumed after round %d at %d env steps", state.epoch + 1, agent.env_steps)
        return state.epoch + 1
    if run.cfg.trainer.checkpoint_every:
        save_checkpoint(run, agent_checkpoint(agent, loop), -1, STAGE)
    return 0


def _progress_bar(trainer, round_: int, iterations: int):
    """Keras' progress bar over a round's updates (``trainer.verbose=1``, as ``fit`` shows)."""
    if trainer.verbose != 1:
        return None
    import keras

    print(f"Round {round_ + 1}/{trainer.epochs}", flush=True)
    return keras.utils.Progbar(iterations, stateful_metrics=["env_steps", "epsilon", "learning_rate"], unit_name="update")


def return_curve(curve: Curve, rl_cfg, solved_return: float | None):
    """Training episode returns (and their moving average) with the greedy evaluations."""
    import matplotlib.pyplot as plt
    import numpy as np

    fig, ax = plt.subplots(figsize=(8, 4.5))
    if curve.episode_returns:
        ax.plot(curve.episode_steps, curve.episode_returns, ".", alpha=0.25, markersize=3, label="training episode")
        window = min(20, len(curve.episode_returns))
        smooth = np.convolve(curve.episode_returns, np.ones(window) / window, mode="valid")
        ax.plot(curve.episode_steps[window - 1 :], smooth, label=f"training, mean of {window}")
    means, stds = np.array(curve.eval_means), np.array(curve.eval_stds)
    ax.errorbar(curve.eval_steps, means, yerr=stds, fmt="o-", capsize=3, label=f"greedy eval ({rl_cfg.eval_episodes} episodes)")
    if solved_return is not None:
        ax.axhline(solved_return, color="gray", linestyle="--", label=f"solved ({solved_return:g})")
    ax.set_xlabel("environment steps")
    ax.set_ylabel("episode return")
    ax.set_title(f"{rl_cfg.agent.upper()} on {rl_cfg.env_id}")
    ax.legend(loc="best", fontsize=8)
    ax.grid(alpha=0.3)
    return fig
