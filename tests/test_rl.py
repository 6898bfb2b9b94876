"""The rl technique's parts (replay, targets, GAE, schedules, config checks, evaluation)
and short in-process runs on an env this test registers itself."""

from __future__ import annotations

import importlib.util
from typing import ClassVar

import gymnasium as gym
import numpy as np
import pytest
from omegaconf import OmegaConf
from tfexp_rl import RL
from tfexp_rl.advantages import compute_gae
from tfexp_rl.agents import planned_env_steps
from tfexp_rl.config import RLConfig, check_rl_config
from tfexp_rl.envs import describe_env
from tfexp_rl.evaluation import Evaluator
from tfexp_rl.replay import ReplayBuffer
from tfexp_rl.schedules import linear

from tfexp.errors import ConfigError, TfexpError
from tfexp.testing import artifact_paths, compose, tiny_run

CORRIDOR = "tfexp-test/Corridor-v0"


class Corridor(gym.Env):
    """Walk right to the end of a 6-cell corridor: +1 there, -0.01 per step elsewhere.
    Renders its own frames, so GIF recording needs no rendering extras."""

    metadata: ClassVar[dict] = {"render_modes": ["rgb_array"], "render_fps": 4}
    cells = 6

    def __init__(self, render_mode=None):
        self.render_mode = render_mode
        self.observation_space = gym.spaces.Box(0.0, 1.0, (1,), np.float32)
        self.action_space = gym.spaces.Discrete(2)
        self.position = 0

    def _obs(self):
        return np.array([self.position / (self.cells - 1)], dtype=np.float32)

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        self.position = 0
        return self._obs(), {}

    def step(self, action):
        self.position = max(0, self.position + (1 if action == 1 else -1))
        at_goal = self.position == self.cells - 1
        return self._obs(), 1.0 if at_goal else -0.01, at_goal, False, {}

    def render(self):
        frame = np.zeros((8, 8 * self.cells, 3), dtype=np.uint8)
        frame[:, 8 * self.position : 8 * self.position + 8] = (255, 200, 0)
        return frame


gym.register(CORRIDOR, entry_point=Corridor, max_episode_steps=30, reward_threshold=0.9)


# -- parts ------------------------------------------------------------------------------


def test_replay_buffer_keeps_the_newest_transitions_and_samples_only_stored_ones():
    buffer = ReplayBuffer(capacity=5, obs_shape=(2,), seed=0)
    for start in (0, 3, 6):  # 9 transitions through a 5-slot ring
        ids = np.arange(start, start + 3)
        buffer.add(np.stack([ids, ids], 1), ids, ids.astype(float), np.stack([ids + 1, ids + 1], 1), ids % 2)
    assert len(buffer) == 5
    assert sorted(buffer.actions) == [4, 5, 6, 7, 8]  # the oldest four were overwritten
    batch = buffer.sample(batches=3, batch_size=40)
    assert batch["obs"].shape == (3, 40, 2) and batch["actions"].shape == (3, 40)
    assert set(batch["actions"].ravel()) == {4, 5, 6, 7, 8}  # uniform over what is stored
    assert np.all(batch["next_obs"][..., 0] == batch["obs"][..., 0] + 1)  # rows stay whole
    assert np.all(batch["terminated"] == batch["actions"] % 2)


def test_replay_buffer_sampling_is_seeded_and_refuses_an_empty_buffer():
    def filled(seed):
        buffer = ReplayBuffer(100, (1,), seed)
        buffer.add(np.arange(50)[:, None], np.arange(50), np.zeros(50), np.zeros((50, 1)), np.zeros(50))
        return buffer

    assert np.array_equal(filled(1).sample(2, 8)["actions"], filled(1).sample(2, 8)["actions"])
    with pytest.raises(ValueError, match="empty"):
        ReplayBuffer(4, (1,), 0).sample(1, 1)


def test_target_update_copies_at_tau_one_and_averages_below():
    import keras
    from tfexp_rl.dqn import update_target

    def net(value):
        model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])
        model.set_weights([np.full((2, 1), value, np.float32), np.full((1,), value, np.float32)])
        return model

    online, target = net(1.0), net(3.0)
    update_target(target, online, tau=0.25)
    assert np.allclose(target.get_weights()[0], 0.25 * 1.0 + 0.75 * 3.0)
    update_target(target, online, tau=1.0)
    assert all(np.array_equal(t, o) for t, o in zip(target.get_weights(), online.get_weights()))


def test_gae_matches_a_hand_computed_example():
    # One env, three steps; the episode ends after step 1, a new one starts at step 2.
    rewards = np.array([[1.0], [2.0], [3.0]], np.float32)
    values = np.array([[0.5], [1.0], [2.0]], np.float32)
    dones = np.array([[0.0], [1.0], [0.0]], np.float32)
    last_values = np.array([4.0], np.float32)
    gamma, lam = 0.9, 0.8
    # deltas: t2 = 3 + .9*4 - 2 = 4.6; t1 = 2 - 1 = 1.0 (no bootstrap); t0 = 1 + .9*1 - .5 = 1.4
    # advantages: A2 = 4.6; A1 = 1.0 (the episode ended); A0 = 1.4 + .9*.8*1.0 = 2.12
    advantages, returns = compute_gae(rewards, values, dones, last_values, gamma, lam)
    assert advantages[:, 0] == pytest.approx([2.12, 1.0, 4.6])
    assert returns[:, 0] == pytest.approx([2.62, 2.0, 6.6])


def test_epsilon_schedule_decays_linearly_then_holds():
    assert linear(1.0, 0.05, 1000, 0) == 1.0
    assert linear(1.0, 0.05, 1000, 500) == pytest.approx(0.525)
    assert linear(1.0, 0.05, 1000, 1000) == pytest.approx(0.05)
    assert linear(1.0, 0.05, 1000, 10**6) == pytest.approx(0.05)
    assert linear(1.0, 0.05, 0, 0) == 0.05  # no exploration phase at all


def test_budget_comes_from_trainer_epochs_and_debug_fast_shortens_it():
    cfg = compose(["+experiment=rl"])
    rl = check_rl_config(cfg.technique)
    assert planned_env_steps(cfg.trainer, rl) == 20 * 20 * 256  # 100k steps asked: 102,400 planned
    fast = compose(["+experiment=rl", "debug=fast", "technique.agent=dqn"])
    from tfexp.config import apply_debug

    fast = apply_debug(fast)
    assert planned_env_steps(fast.trainer, check_rl_config(fast.technique)) == 1 * 5 * 256


def test_technique_yaml_lists_every_key_with_the_schema_defaults():
    composed = OmegaConf.to_container(compose(["technique=rl"]).technique)
    assert composed == OmegaConf.to_container(OmegaConf.structured(RLConfig))


# -- clear errors before training ----------------------------------------------------


def configure(*overrides):
    cfg = compose(["+experiment=rl", *overrides])
    RL(cfg.technique).tfexp_configure(cfg)


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        (["technique.env_id=CartPol-v1"], "technique.env_id='CartPol-v1' cannot be made: Environment `CartPol` doesn't exist. Did you mean: `CartPole`?"),
        (["technique.agent=dqn", "technique.env_id=Pendulum-v1"], "technique.agent=dqn cannot act in Pendulum-v1: its action space is Box(-2.0, 2.0, (1,), float32) (Box); dqn supports Discrete actions. Use technique.agent=ppo"),
        (["technique.agent=sac"], "technique.agent='sac' is invalid: expected dqn or ppo"),
        (["technique.ppo.gae_lambda=1.5"], "technique.ppo.gae_lambda=1.5 is invalid"),
        (["+technique.dqn.lr=0.1"], "technique.dqn.lr"),
        (["+technique.env_kwargs.nope=1"], "technique.env_kwargs do not fit CartPole-v1"),
    ],
)
def test_configuration_errors_name_the_key_and_the_way_out(overrides, message):
    with pytest.raises(ConfigError) as info:
        configure(*overrides)
    assert message in str(info.value)


@pytest.mark.skipif(importlib.util.find_spec("pygame") is not None, reason="pygame is installed: CartPole renders here")
def test_record_video_without_rendering_extras_fails_before_training():
    with pytest.raises(ConfigError) as info:
        configure("technique.record_video=true")
    assert "technique.record_video=true needs CartPole-v1's rendering extras: pygame is not installed" in str(info.value)
    assert "set technique.record_video=false" in str(info.value)


def test_non_box_observations_are_flattened_for_the_networks():
    info = describe_env("FrozenLake-v1", {}, "dqn")  # Discrete(16) observations -> one-hot vectors
    assert info.obs_shape == (16,) and info.discrete and info.num_actions == 4


def test_rl_data_declares_the_env_spec_and_has_no_examples():
    from tfexp_rl.env_data import EnvData

    data = EnvData(describe_env("CartPole-v1", {}, "ppo"), {})
    spec = data.spec
    assert (spec.task, spec.input_shape, spec.num_outputs, spec.class_names) == ("multiclass", (4,), 2, ("action_0", "action_1"))
    assert dict(spec.num_examples) == {"train": 0, "val": 0, "test": 0} and data.source == "gymnasium:CartPole-v1"
    sample = data.sample("test", 5, seed=1)  # what the MLflow signature is inferred from
    assert sample.shape == (5, 4) and sample.dtype == np.float32 and np.array_equal(sample, data.sample("test", 5, seed=1))
    with pytest.raises(TfexpError, match="technique=rl has no data set: its train split has no examples .* Read data.spec"):
        data.dataset("train", batch_size=8)
    continuous = EnvData(describe_env("Pendulum-v1", {}, "ppo"), {}).spec
    assert (continuous.task, continuous.input_shape, continuous.num_outputs) == ("regression", (3,), 1)


# -- evaluation and short runs ------------------------------------------------------


def test_evaluator_plays_each_episode_once_from_fixed_seeds():
    info = describe_env("CartPole-v1", {}, "ppo")
    evaluator = Evaluator(info, {}, episodes=7, seed=3)
    always_left = lambda obs: np.zeros(len(obs), dtype=np.int32)
    first, second = evaluator(always_left), evaluator(always_left)
    evaluator.close()
    assert len(first.returns) == 7 and np.all(first.lengths >= 8) and np.all(first.lengths < 20)
    assert np.array_equal(first.returns, first.lengths)  # CartPole pays 1 per step
    assert np.array_equal(first.returns, second.returns)  # same starts every round
    assert first.metrics() == {
        "eval_return_mean": pytest.approx(first.returns.mean()),
        "eval_return_std": pytest.approx(first.returns.std()),
        "eval_length_mean": pytest.approx(first.lengths.mean()),
    }


@pytest.mark.parametrize("agent", [pytest.param("ppo", marks=pytest.mark.slow), "dqn"])
def test_agents_solve_a_plugin_registered_env_and_record_a_gif(tmp_path, agent):
    overrides = [
        "+experiment=rl", f"technique.agent={agent}", f"technique.env_id={CORRIDOR}", "technique.record_video=true",
        "debug.trainer.epochs=4", "debug.trainer.steps_per_epoch=4", "technique.eval_episodes=2", "technique.test_episodes=3",
        "technique.dqn.train_freq=32", "technique.dqn.learning_starts=64",
        "technique.dqn.gradient_steps=32", "technique.dqn.target_update_every=32", "technique.dqn.hidden_units=[32]",
        "technique.ppo.num_envs=4", "technique.ppo.learning_rate=0.003", "technique.jit_compile=false", "tracking.log_model=false",
    ]
    run = tiny_run(tmp_path, overrides)
    assert run.test_metrics["test_eval_return_mean"] >= 0.9 and run.test_metrics["test_solved"] == 1.0
    assert run.test_metrics["test_eval_length_mean"] == 5  # straight to the goal
    gif = run.output_dir / "videos" / "eval_episode.gif"
    from PIL import Image

    with Image.open(gif) as image:
        assert image.n_frames == 6  # the start and five steps
    assert {"videos/eval_episode.gif", "return_curve.png"} <= artifact_paths(tmp_path, run.tracker_refs["mlflow"])


def test_ppo_acts_in_continuous_spaces_with_the_model_group_network(tmp_path):
    run = tiny_run(
        tmp_path,
        ["+experiment=rl", "technique.env_id=Pendulum-v1", "technique.network=model", "model.hidden_units=[16]", "model.dropout=0",
         "technique.eval_episodes=2", "technique.test_episodes=2", "debug.trainer.steps_per_epoch=2", "technique.jit_compile=false", "tracking=none"],
    )
    assert run.model.name == "mlp" and run.model.output_shape == (None, 1)  # the mean torque
    assert run.test_metrics["test_eval_length_mean"] == 200  # Pendulum's time limit
    assert "test_solved" not in run.test_metrics  # Pendulum has no reward threshold
    assert run.history["env_steps"] == [2 * 8 * 32]
