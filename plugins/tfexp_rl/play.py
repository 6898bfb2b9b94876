"""Load an rl run's logged policy and play greedy episodes with it.

    python -m tfexp_rl.play RUN_ID [--episodes 3] [--render] [--tracking-uri sqlite:///mlflow.db]

or from Python: ``play_episode(load_policy(run_id)[0], "CartPole-v1")``. The env id
and its kwargs come from the run's logged config unless ``--env-id`` is given.
"""

from __future__ import annotations

import argparse
import os
import tempfile
from pathlib import Path

import numpy as np


def load_policy(run_id: str, tracking_uri: str | None = None):
    """The run's exported model and the env it was trained on: ``(model, env_id, env_kwargs)``."""
    import mlflow
    from omegaconf import OmegaConf

    os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")  # a few small files
    uri = tracking_uri or os.environ.get("MLFLOW_TRACKING_URI") or f"sqlite:///{Path.cwd() / 'mlflow.db'}"
    mlflow.set_tracking_uri(uri)
    with tempfile.TemporaryDirectory() as tmp:  # the run's resolved config keeps env_kwargs' types
        cfg = OmegaConf.load(mlflow.artifacts.download_artifacts(run_id=run_id, artifact_path="config/config.yaml", dst_path=tmp))
    model = mlflow.keras.load_model(f"runs:/{run_id}/model")
    return model, cfg.technique.env_id, OmegaConf.to_container(cfg.technique.env_kwargs)


def play_episode(model, env_id: str, env_kwargs: dict | None = None, seed: int = 0, render_mode: str | None = None) -> tuple[float, int]:
    """One greedy episode; returns ``(return, length)``. ``render_mode="human"`` shows it."""
    from tfexp_rl.envs import describe_env, make_env
    from tfexp_rl.networks import greedy_policy

    env_kwargs = env_kwargs or {}
    info = describe_env(env_id, env_kwargs, "ppo")  # ppo accepts every action space the agents use
    policy = greedy_policy(model, info.discrete)
    env = make_env(env_id, env_kwargs, render_mode=render_mode)
    try:
        obs, _ = env.reset(seed=seed)
        total, length, done = 0.0, 0, False
        while not done:
            action = info.to_env(policy(np.asarray(obs, dtype=np.float32)[None]))[0]
            obs, reward, terminated, truncated, _ = env.step(action)
            total, length, done = total + float(reward), length + 1, terminated or truncated
    finally:
        env.close()
    return total, length


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m tfexp_rl.play", description="Play greedy episodes with an rl run's policy.")
    parser.add_argument("run_id")
    parser.add_argument("--tracking-uri", default=None, help="default: $MLFLOW_TRACKING_URI or sqlite:///<cwd>/mlflow.db")
    parser.add_argument("--env-id", default=None, help="default: the run's technique.env_id")
    parser.add_argument("--episodes", type=int, default=1)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--render", action="store_true", help="show the episodes in a window (needs the env's rendering extras)")
    args = parser.parse_args(argv)
    model, env_id, env_kwargs = load_policy(args.run_id, args.tracking_uri)
    for episode in range(args.episodes):
        total, length = play_episode(model, args.env_id or env_id, env_kwargs, args.seed + episode, "human" if args.render else None)
        print(f"episode {episode}: return={total:g} length={length}")


if __name__ == "__main__":
    main()
