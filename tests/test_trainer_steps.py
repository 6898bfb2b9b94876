"""``trainer.steps``: a budget in optimizer steps, turned into each stage's epochs by the
length of that stage's own data, as a user sees it in MLflow and on ``resume=``."""

from __future__ import annotations

import math

import pytest
from mlflow import MlflowClient

from test_data_sources import write_tables
from test_trainer import StopAfterEpoch
from tfexp.checkpoint import CheckpointState
from tfexp.errors import ConfigError
from tfexp.testing import compose, store_uri, tiny_run

# debug=fast without its 5-step epochs: an epoch is a pass over the data again.
QUIET = ["debug.trainer.steps_per_epoch=null", "debug.trainer.verbose=0", "tracking.log_model=false", "tracking.tensorboard=false", "export.formats=[]"]


def epochs_logged(tmp_path, run, key: str = "loss") -> list[int]:
    client = MlflowClient(store_uri(tmp_path))
    return sorted(m.step for m in client.get_metric_history(run.tracker_refs["mlflow"], key))


@pytest.mark.parametrize("data", ["digits", "breast_cancer"])
def test_the_same_steps_are_more_epochs_on_smaller_data(tmp_path, data):
    run = tiny_run(tmp_path, [*QUIET, f"data={data}", "debug.trainer.steps=40"])
    per_epoch = math.ceil(run.data.spec.size("train") / 32)  # debug=fast's batch
    epochs = math.ceil(40 / per_epoch)
    assert epochs_logged(tmp_path, run) == list(range(epochs))
    assert epochs == {"digits": 2, "breast_cancer": 4}[data]


def test_streamed_files_count_their_batches_from_the_split_size(tmp_path):
    run = tiny_run(tmp_path, [*write_tables(tmp_path / "data", "csv"), *QUIET, "debug.trainer.steps=20"])  # 240 rows: 8 batches an epoch
    assert epochs_logged(tmp_path, run) == [0, 1, 2]


def test_fixmatch_counts_steps_over_its_pool_and_its_baseline_over_the_labels(tmp_path):
    # digits at 10 % labels: the pool is 5 steps an epoch (mu x batch = 224), the labels 4 (batch 32).
    run = tiny_run(tmp_path, ["+experiment=fixmatch", *QUIET, "debug.trainer.steps=10", "technique.baseline=true", "technique.diagnostic_examples=256"])
    assert epochs_logged(tmp_path, run) == [0, 1]
    assert epochs_logged(tmp_path, run, "baseline/loss") == [0, 1, 2]


def test_pseudo_label_rounds_each_train_the_steps_on_their_own_data(tmp_path):
    run = tiny_run(tmp_path, ["+experiment=semisup", *QUIET, "debug.trainer.steps=8", "technique.rounds=1", "technique.precision=null", "technique.threshold=0.0"])
    client = MlflowClient(store_uri(tmp_path))
    accepted = client.get_metric_history(run.tracker_refs["mlflow"], "pseudo/accepted")[0].value
    labeled = 117  # 10 % of digits' 1167 training examples
    round_1 = math.ceil(8 / math.ceil((labeled + accepted) / 32))
    assert accepted > 900  # threshold 0: the whole pool, so round 1 has 1 epoch where round 0 has 2
    assert epochs_logged(tmp_path, run) == [0, 1, *range(2, 2 + round_1)]


def test_a_run_that_counts_steps_resumes_and_trains_longer_in_steps(tmp_path):
    from tfexp.plugins import build_plugin_manager
    from tfexp.runner import run_experiment

    base = [*QUIET, f"tracking.uri={store_uri(tmp_path)}", "debug.trainer.steps=111"]  # digits: 3 epochs of 37 batches
    with pytest.raises(KeyboardInterrupt):
        tiny_run(tmp_path, base, plugins=[StopAfterEpoch(0)])
    run_dir = tmp_path / "outputs"

    def resume(*overrides):
        cfg = compose(["debug=fast", *base, f"resume={run_dir}", *overrides])
        return run_experiment(cfg, run_dir, pm=build_plugin_manager((), load_installed=True), overrides=[f"resume={run_dir}", *overrides])

    run = resume()
    assert epochs_logged(tmp_path, run) == [0, 1, 2] and CheckpointState.read(run_dir).finished[""]["epoch"] == 2
    with pytest.raises(ConfigError, match=r"already FINISHED all 111 steps.*trainer.steps=N \(N > 111\)"):
        resume()
    with pytest.raises(ConfigError, match=r"the run's budget is trainer.steps=111; train it longer with trainer.steps=N"):
        resume("trainer.epochs=5")
    longer = resume("trainer.steps=148")  # one more epoch
    assert epochs_logged(tmp_path, longer) == [0, 1, 2, 3] and CheckpointState.read(run_dir).finished[""]["epoch"] == 3


def test_a_step_budget_is_checked_and_refused_where_steps_mean_something_else(tmp_path):
    with pytest.raises(ConfigError, match=r"trainer.steps=0 is invalid: expected null or an integer >= 1"):
        tiny_run(tmp_path, ["debug.trainer.steps=0"])
    with pytest.raises(ConfigError, match=r"rl technique's budget is env steps.*technique.total_steps=500"):
        tiny_run(tmp_path, ["+experiment=rl", "debug.trainer.steps=500"])
