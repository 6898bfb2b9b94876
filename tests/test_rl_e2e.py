"""``python -m tfexp +experiment=rl`` as a user runs it, in a subprocess and a fresh directory."""

from __future__ import annotations

import pytest
from mlflow import MlflowClient
from tfexp_rl.play import load_policy, play_episode

from tfexp.testing import artifact_paths, mlflow_runs, run_cli, store_uri

AGENT_METRICS = {
    "ppo": {"update/policy_loss", "update/value_loss", "update/entropy", "update/approx_kl", "update/clip_fraction"},
    "dqn": {"update/loss", "update/q_mean", "update/epsilon"},
}


@pytest.mark.parametrize("agent", ["ppo", pytest.param("dqn", marks=pytest.mark.slow)])
def test_debug_fast_run_tracks_episodes_updates_evaluations_and_the_policy(tmp_path, agent):
    result = run_cli(["+experiment=rl", "debug=fast", f"technique.agent={agent}"], cwd=tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]
    assert f"rl: {agent} on CartPole-v1, 1 rounds x 5 iterations x 256 env steps" in result.stderr
    (run,) = mlflow_runs(tmp_path)
    assert run.info.status == "FINISHED" and run.data.params["technique.agent"] == agent
    # the run says what was trained on what: the agent and the env, not model=mlp data=digits
    assert run.data.tags["tfexp.agent"] == agent and run.data.tags["tfexp.env"] == "CartPole-v1"
    assert run.info.run_name.startswith("rl-")  # the preset's name
    assert f"tfexp run FINISHED: technique=rl agent={agent} env=CartPole-v1" in result.stderr
    assert "test_solved=no" in result.stderr or "test_solved=yes" in result.stderr
    assert list((tmp_path / "outputs").glob(f"*/*/export/{agent}-CartPole-v1/1"))
    expected = {"episode/return", "episode/length", "update/learning_rate", "eval_return_mean", "eval_return_std",
                "env_steps", "env_steps_per_second", "test_eval_return_mean", "test_eval_return_std", "test_solved"}
    assert expected | AGENT_METRICS[agent] <= set(run.data.metrics)
    assert run.data.metrics["env_steps"] == 5 * 256  # a few hundred env steps: debug=fast's 5 iterations

    episodes = MlflowClient(store_uri(tmp_path)).get_metric_history(run.info.run_id, "episode/return")
    steps = [m.step for m in episodes]
    assert len(episodes) >= 5 and steps == sorted(steps) and steps[-1] <= 5 * 256  # step = env steps
    assert "return_curve.png" in artifact_paths(tmp_path, run.info.run_id)

    assert len(run.outputs.model_outputs) == 1  # the policy (PPO) or Q-network (DQN) is the run's model
    model, env_id, env_kwargs = load_policy(run.info.run_id, store_uri(tmp_path))
    episode_return, length = play_episode(model, env_id, env_kwargs, seed=0)
    assert env_id == "CartPole-v1" and episode_return == length >= 8
    import mlflow  # load_policy set the tracking URI

    signature = mlflow.models.get_model_info(f"runs:/{run.info.run_id}/model").signature  # from observation-space samples
    assert [(t["type"], t["tensor-spec"]["shape"]) for t in signature.inputs.to_dict()] == [("tensor", (-1, 4))]


def test_unknown_env_and_wrong_action_space_fail_before_any_run(tmp_path):
    result = run_cli(["+experiment=rl", "technique.env_id=NoSuchEnv-v0"], cwd=tmp_path)
    assert result.returncode == 1 and "technique.env_id='NoSuchEnv-v0' cannot be made" in result.stderr
    result = run_cli(["+experiment=rl", "technique.agent=dqn", "technique.env_id=Pendulum-v1"], cwd=tmp_path)
    assert result.returncode == 1 and "technique.agent=dqn cannot act in Pendulum-v1" in result.stderr
    assert "Traceback" not in result.stderr and not (tmp_path / "mlflow.db").exists()


@pytest.mark.slow
def test_default_preset_solves_cartpole(tmp_path):
    """The issue's bar: greedy mean return >= 475 over 100 episodes (about 1-3 minutes)."""
    result = run_cli(["+experiment=rl"], cwd=tmp_path, timeout=900)
    assert result.returncode == 0, result.stderr[-3000:]
    (run,) = mlflow_runs(tmp_path)
    assert run.data.metrics["test_eval_return_mean"] >= 475
    assert run.data.metrics["test_solved"] == 1.0
