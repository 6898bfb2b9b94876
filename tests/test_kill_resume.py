"""kill -9 every technique at a (seeded) random point, then ``resume=``: the same MLflow run
ends FINISHED with every epoch's metrics and every metric step logged exactly once.

``slow``: one trial per technique (CI). ``long``: three trials each, the numbers behind the
kill/resume table in experiments/reliability.md (``pytest -m long -k kill -s`` prints a row
per trial).
"""

from __future__ import annotations

import random
import time
from dataclasses import dataclass, field

import pytest
from mlflow import MlflowClient

from test_reliability import start_run
from test_stages import wait_for_stage
from tfexp.checkpoint import CheckpointState
from tfexp.testing import mlflow_runs, run_cli, store_uri

COMMON = ["trainer.verbose=0", "tracking.log_model=false", "tracking.mlflow.flush_interval_s=0.2", "export.formats=[keras]"]
E = 4  # epochs (RL: rounds)
RL = ["+experiment=rl", f"trainer.epochs={E}", "technique.total_steps=4096", "technique.stop_when_solved=false",
      "technique.eval_episodes=5", "technique.test_episodes=5"]
SEMISUP = ["+experiment=semisup", "model=mlp", f"trainer.epochs={E}", "trainer.batch_size=16"]


@dataclass(frozen=True)
class Technique:
    args: list[str]
    stages: tuple[str, ...]
    """Where a kill may land (checkpoint stage names)."""
    epochs: dict[str, int] = field(default_factory=dict)
    """Epoch metrics that must end with steps 0..n-1, each once."""


TECHNIQUES = {
    "supervised": Technique(["data=synthetic", "data.n_samples=3000", f"trainer.epochs={E}", "trainer.batch_size=16"],
                            ("",), {"val_loss": E}),
    "distill": Technique(["+experiment=distill", "technique.baseline=true", f"trainer.epochs={E}", "trainer.batch_size=16"],
                         ("teacher", "baseline", "student"), {"teacher/val_loss": E, "baseline/val_loss": E, "student/val_loss": E}),
    "pseudo_label": Technique([*SEMISUP, "technique.method=pseudo_label", "technique.rounds=2", "technique.baseline=true"],
                              ("round-0", "round-1", "round-2", "baseline"), {"val_loss": 3 * E, "baseline/val_loss": E}),
    "fixmatch": Technique([*SEMISUP, "technique.method=fixmatch"], ("fixmatch",), {"val_loss": E}),
    "autoencoder": Technique([*SEMISUP, "technique.method=autoencoder"], ("pretrain", "finetune"),
                             {"reconstruction/val_loss": E, "val_loss": E}),
    "ppo": Technique(RL, ("rl",), {"eval_return_mean": E}),
    "dqn": Technique([*RL, "technique.agent=dqn", "technique.dqn.learning_starts=256", "technique.dqn.train_freq=64",
                      "technique.dqn.gradient_steps=16", "technique.dqn.target_update_every=16"], ("rl",), {"eval_return_mean": E}),
}


def kill_and_resume(tmp_path, name: str, trial: int) -> str:
    """One trial; returns its row for the reliability table."""
    technique, rng = TECHNIQUES[name], random.Random(f"{name}-{trial}")
    stage, epoch, delay = rng.choice(technique.stages), rng.randrange(E - 1), rng.uniform(0, 1)
    started = time.time()
    proc = start_run(tmp_path, [*technique.args, *COMMON])
    run_dir = wait_for_stage(tmp_path, proc, stage, epoch)
    time.sleep(delay)
    assert proc.poll() is None, f"{name} finished before the kill"
    proc.kill()
    proc.wait()
    at_kill = CheckpointState.read(run_dir)
    (killed,) = mlflow_runs(tmp_path)
    result = run_cli([f"resume={run_dir}"], cwd=tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]

    (run,) = mlflow_runs(tmp_path)
    assert run.info.run_id == killed.info.run_id and run.info.status == "FINISHED"
    client = MlflowClient(store_uri(tmp_path))
    for key in run.data.metrics:
        steps = [m.step for m in client.get_metric_history(run.info.run_id, key)]
        assert len(steps) == len(set(steps)), f"{key}: a step logged twice"
    for key, n in technique.epochs.items():
        assert sorted(m.step for m in client.get_metric_history(run.info.run_id, key)) == list(range(n)), key
    row = (f"| {name} | {trial} | {at_kill.stage or '(one stage)'} | {at_kill.epoch + 1} | {delay:.2f} s "
           f"| FINISHED, 1 run, each step once | {time.time() - started:.0f} s |")
    print(row)
    return row


@pytest.mark.slow
@pytest.mark.parametrize("name", list(TECHNIQUES))
def test_killed_anywhere_resumes_to_one_finished_run_with_each_step_once(tmp_path, name):
    kill_and_resume(tmp_path, name, trial=0)


@pytest.mark.slow
@pytest.mark.long
@pytest.mark.parametrize("trial", [1, 2, 3])
@pytest.mark.parametrize("name", list(TECHNIQUES))
def test_killed_anywhere_resumes_in_every_trial(tmp_path, name, trial):
    kill_and_resume(tmp_path, name, trial)
