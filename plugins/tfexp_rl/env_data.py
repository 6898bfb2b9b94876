"""What an RL run hands the runner as its data: the environment's spec, and no examples.

The runner and the exporters need a :class:`tfexp.data.Data` for shapes and the task
(observations in; logits or Q-values per action, or a mean action vector, out). An agent
learns from the environment, so there is no data set to read: every split has 0
examples and reading one is an error. :meth:`EnvData.sample` gives observations drawn
from the observation space, enough for a model signature or a TFLite calibration.
"""

from __future__ import annotations

import numpy as np

from tfexp.data import SPLITS, Data, DataSpec
from tfexp.errors import TfexpError
from tfexp_rl.envs import EnvInfo, make_env


class EnvData(Data):
    def __init__(self, info: EnvInfo, env_kwargs: dict):
        self.info, self.env_kwargs = info, env_kwargs
        self.source = f"gymnasium:{info.env_id}"
        if info.discrete:
            task, names = "multiclass", tuple(f"action_{a + info.action_start}" for a in range(info.num_actions))
        else:
            task, names = "regression", ()
        self.spec = DataSpec(
            task=task, input_shape=info.obs_shape, num_outputs=info.num_actions, class_names=names,
            num_examples={split: 0 for split in SPLITS},
        )

    def records(self, split, **kwargs):
        raise TfexpError(
            f"technique=rl has no data set: its {split} split has no examples (the agent learns from {self.info.env_id}). "
            "Read data.spec for shapes, or data.sample() for observations."
        )

    def sample(self, split: str, n: int, *, raw: bool = False, seed: int | None = None) -> np.ndarray:
        """``n`` observations drawn from the env's observation space (the same for every split)."""
        env = make_env(self.info.env_id, self.env_kwargs)
        try:
            env.observation_space.seed(0 if seed is None else seed)
            return np.stack([env.observation_space.sample() for _ in range(n)]).astype(np.float32)
        finally:
            env.close()
