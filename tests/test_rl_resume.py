"""RL checkpoints per round: ``resume=`` continues at that round and env-step count, in the
same MLflow run, with the agent's state (networks, optimizer, counters, RNG, replay buffer)."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest
from mlflow import MlflowClient
from tfexp_rl.replay import ReplayBuffer

from tfexp.checkpoint import CheckpointState
from tfexp.testing import compose, mlflow_runs, resume_run, store_uri, tiny_run

DQN = ["+experiment=rl", "technique.agent=dqn", "technique.dqn.train_freq=16", "technique.dqn.learning_starts=32",
       "technique.dqn.gradient_steps=4", "technique.dqn.hidden_units=[16]", "technique.eval_episodes=2",
       "technique.test_episodes=2", "technique.jit_compile=false", "technique.stop_when_solved=false",
       "debug.trainer.steps_per_epoch=3", "tracking.log_model=false", "export.formats=[keras]"]
STEPS_PER_ROUND = 3 * 16


def steps(client, run_id: str, key: str) -> list[int]:
    return [m.step for m in sorted(client.get_metric_history(run_id, key), key=lambda m: m.step)]


@pytest.mark.slow
def test_dqn_resumed_continues_at_its_round_and_env_step_count_in_the_same_run(tmp_path):
    first = tiny_run(tmp_path, [*DQN, "debug.trainer.epochs=2"])
    state = CheckpointState.read(first.output_dir)
    assert (state.stage, state.epoch) == ("rl", 1)
    resumed = resume_run(tmp_path, first.output_dir, epochs=4)
    assert resumed.output_dir == first.output_dir and resumed.history["env_steps"] == [k * STEPS_PER_ROUND for k in (1, 2, 3, 4)]  # rounds before the stop count too
    (run,) = mlflow_runs(tmp_path, "rl")
    assert run.info.status == "FINISHED"
    client = MlflowClient(store_uri(tmp_path))
    assert steps(client, run.info.run_id, "eval_return_mean") == [0, 1, 2, 3]
    updates = steps(client, run.info.run_id, "update/loss")  # every update once, env steps going on
    assert updates == list(range(2 * 16, 4 * STEPS_PER_ROUND + 1, 16))
    epsilons = [m.value for m in sorted(client.get_metric_history(run.info.run_id, "update/epsilon"), key=lambda m: m.step)]
    assert epsilons == sorted(epsilons, reverse=True)  # exploration went on decaying, not from the start
    assert steps(client, run.info.run_id, "total_env_steps") == [2, 4]  # each process's end, at its trainer.epochs


def test_replay_buffer_and_its_sampler_come_back_from_their_state():
    buffer = ReplayBuffer(8, (2,), seed=3)
    for i in range(5):
        buffer.add(np.full((2, 2), i), np.array([i, i]), np.array([1.0, 2.0]), np.full((2, 2), i + 1), np.array([0.0, 1.0]))
    buffer.sample(1, 4)  # the sampler's RNG has moved on
    restored = ReplayBuffer(8, (2,), seed=99)
    restored.load({key: np.array(value) for key, value in buffer.state().items()})
    assert len(restored) == 8 and restored._next == buffer._next
    expected, got = buffer.sample(2, 5), restored.sample(2, 5)
    for key, value in expected.items():
        np.testing.assert_array_equal(got[key], value, err_msg=key)


@pytest.mark.parametrize("agent", ["ppo", "dqn"])
def test_an_rl_checkpoint_brings_back_networks_optimizer_counters_and_rng(tmp_path, agent):
    from tfexp_rl.agents import make_agent
    from tfexp_rl.checkpoints import agent_checkpoint
    from tfexp_rl.config import check_rl_config
    from tfexp_rl.envs import describe_env
    from tfexp_rl.training import LoopState

    from tfexp.config import apply_debug

    cfg = apply_debug(compose(["debug=fast", *DQN, f"technique.agent={agent}", "technique.ppo.num_envs=2", "technique.ppo.n_steps=8"]))
    rl = check_rl_config(cfg.technique)
    info = describe_env(rl.env_id, dict(rl.env_kwargs), rl.agent)
    trained, fresh = (make_agent(SimpleNamespace(cfg=cfg), rl, info) for _ in range(2))  # same seed, same start
    for _ in range(3):
        trained.iterate()
    assert not np.array_equal(fresh.model.get_weights()[-1], trained.model.get_weights()[-1])
    path = agent_checkpoint(trained, LoopState(best_return=7.0, best_weights=trained.model.get_weights())).write(str(tmp_path / "ckpt"))
    loaded = LoopState()
    agent_checkpoint(fresh, loaded).read(path).assert_existing_objects_matched()
    assert fresh.env_steps == trained.env_steps > 0
    assert int(fresh.optimizer.iterations) == int(trained.optimizer.iterations) > 0
    assert loaded.best_return == 7.0 and len(loaded.best_weights) == len(trained.model.get_weights())
    for a, b in zip(fresh.model.get_weights(), trained.model.get_weights()):
        np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(fresh.rng.uniform([3]), trained.rng.uniform([3]))
    if agent == "dqn":
        assert len(fresh.buffer) == len(trained.buffer) == trained.env_steps
    else:
        assert fresh.np_rng.integers(1 << 30) == trained.np_rng.integers(1 << 30)
    for a in (trained, fresh):
        a.close()
