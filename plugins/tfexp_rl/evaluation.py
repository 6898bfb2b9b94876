"""Greedy evaluation over many episodes at once, and an episode recorded as a GIF."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from tfexp_rl.envs import EnvInfo, make_env


@dataclass
class EvalResult:
    returns: np.ndarray
    lengths: np.ndarray

    def metrics(self, prefix: str = "eval_") -> dict[str, float]:
        return {
            f"{prefix}return_mean": float(self.returns.mean()),
            f"{prefix}return_std": float(self.returns.std()),
            f"{prefix}length_mean": float(self.lengths.mean()),
        }


class Evaluator:
    """Plays one greedy episode in each of ``episodes`` envs, all stepped together, so a
    100-episode evaluation costs one batched policy call per time step.

    Episode ``i`` always starts from ``reset(seed=seed + i)``: rounds are compared on the
    same starting states."""

    def __init__(self, info: EnvInfo, env_kwargs: dict, episodes: int, seed: int):
        self.info, self.seed = info, seed
        self.envs = [make_env(info.env_id, env_kwargs) for _ in range(episodes)]

    def __call__(self, policy) -> EvalResult:
        n = len(self.envs)
        obs = np.stack([env.reset(seed=self.seed + i)[0] for i, env in enumerate(self.envs)]).astype(np.float32)
        returns, lengths = np.zeros(n), np.zeros(n, dtype=np.int64)
        running = np.ones(n, dtype=bool)
        while running.any():
            active = np.flatnonzero(running)
            actions = self.info.to_env(policy(obs[active]))
            for i, action in zip(active, actions):
                obs[i], reward, terminated, truncated, _ = self.envs[i].step(action)
                returns[i] += reward
                lengths[i] += 1
                running[i] = not (terminated or truncated)
        return EvalResult(returns, lengths)

    def close(self) -> None:
        for env in self.envs:
            env.close()


def record_gif(policy, info: EnvInfo, env_kwargs: dict, seed: int, path: Path) -> Path:
    """Play one greedy episode with ``rgb_array`` rendering and save it as an animated GIF."""
    from PIL import Image

    env = make_env(info.env_id, env_kwargs, render_mode="rgb_array")
    try:
        obs, _ = env.reset(seed=seed)
        frames, done = [env.render()], False
        while not done:
            action = info.to_env(policy(np.asarray(obs, dtype=np.float32)[None]))[0]
            obs, _, terminated, truncated, _ = env.step(action)
            frames.append(env.render())
            done = terminated or truncated
        fps = env.metadata.get("render_fps") or 30
    finally:
        env.close()
    path.parent.mkdir(parents=True, exist_ok=True)
    images = [Image.fromarray(np.asarray(frame, dtype=np.uint8)) for frame in frames]
    images[0].save(path, save_all=True, append_images=images[1:], duration=int(1000 / fps), loop=0)
    return path
