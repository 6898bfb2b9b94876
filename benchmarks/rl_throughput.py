"""Env steps per second of each rl agent's training loop, and of the greedy evaluation.

    python benchmarks/rl_throughput.py [--env CartPole-v1] [--iterations 20] [--repeats 3]

Builds each agent from ``+experiment=rl`` (its default settings), runs two warm-up
iterations (tracing and XLA compilation), then times ``--iterations`` iterations
(collection with the compiled action selection plus the compiled updates; DQN updates
from its first iteration on, as ``learning_starts`` is set to 0 here). Agents are timed in
turn within each repeat, so load from other processes hits them alike; the printed
numbers are medians. The greedy row times a 100-episode evaluation of an untrained PPO
policy; the random row is the bare env (gymnasium's sync vector env, 8 copies, random
actions): the ceiling for any agent.
"""

from __future__ import annotations

import argparse
import statistics
import time
from types import SimpleNamespace


def agent_for(name: str, env_id: str):
    from tfexp_rl.agents import make_agent
    from tfexp_rl.config import check_rl_config
    from tfexp_rl.envs import describe_env

    from tfexp.plugins import get_plugin_manager, get_registry
    from tfexp.testing import compose

    cfg = compose(["+experiment=rl", f"technique.agent={name}", f"technique.env_id={env_id}", "technique.dqn.learning_starts=0"])
    rl = check_rl_config(cfg.technique)
    info = describe_env(env_id, {}, name)
    run = SimpleNamespace(cfg=cfg, registry=get_registry(get_plugin_manager()))
    return make_agent(run, rl, info), info


def steps_per_second(agent, iterations: int) -> float:
    start, steps = time.perf_counter(), agent.env_steps
    for _ in range(iterations):
        agent.iterate()
    return (agent.env_steps - steps) / (time.perf_counter() - start)


def random_steps_per_second(env_id: str, steps: int = 20_000) -> float:
    from tfexp_rl.envs import make_vector_env

    envs = make_vector_env(env_id, {}, 8)
    envs.reset(seed=0)
    start = time.perf_counter()
    for _ in range(steps // 8):
        envs.step(envs.action_space.sample())
    envs.close()
    return steps / (time.perf_counter() - start)


def greedy_eval_steps_per_second(agent, info) -> float:
    from tfexp_rl.evaluation import Evaluator
    from tfexp_rl.networks import greedy_policy

    evaluator = Evaluator(info, {}, 100, seed=0)
    policy = greedy_policy(agent.model, info.discrete)
    evaluator(policy)  # trace once
    start = time.perf_counter()
    result = evaluator(policy)
    elapsed = time.perf_counter() - start
    evaluator.close()
    return result.lengths.sum() / elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--env", default="CartPole-v1")
    parser.add_argument("--iterations", type=int, default=20)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()

    agents = {name: agent_for(name, args.env) for name in ("ppo", "dqn")}
    for agent, _ in agents.values():
        steps_per_second(agent, 2)
    samples: dict[str, list[float]] = {name: [] for name in agents}
    samples["greedy eval (100 episodes, batched)"] = []
    samples["random actions (bare env)"] = []
    for _ in range(args.repeats):
        for name, (agent, _) in agents.items():
            samples[name].append(steps_per_second(agent, args.iterations))
        samples["greedy eval (100 episodes, batched)"].append(greedy_eval_steps_per_second(*agents["ppo"]))
        samples["random actions (bare env)"].append(random_steps_per_second(args.env))
    print(f"env steps per second on {args.env} (median of {args.repeats}; training = collection + updates)")
    for name, values in samples.items():
        label = f"{name} training" if name in agents else name
        print(f"  {label:40s} {statistics.median(values):10.0f}")


if __name__ == "__main__":
    main()
