"""Multiruns as a user starts them: parent/child MLflow runs, summaries, Optuna, joblib."""

from __future__ import annotations

import csv
import statistics
from pathlib import Path

import pytest
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

import tfexp
from tfexp.sweep_records import SweepJob
from tfexp.sweep_summary import aggregate_over_seeds
from tfexp.testing import artifact_paths, compose, mlflow_runs, run_cli

FAST = ["debug=fast", "tracking.log_model=false"]


def parent_and_children(tmp_path):
    runs = mlflow_runs(tmp_path)
    parents = [r for r in runs if r.data.tags.get("tfexp.sweep") == "parent"]
    assert len(parents) == 1, [r.data.tags for r in runs]
    parent = parents[0]
    children = [r for r in runs if r.data.tags.get("mlflow.parentRunId") == parent.info.run_id]
    assert len(children) == len(runs) - 1
    return parent, children


@pytest.mark.slow
def test_grid_sweep_has_one_parent_and_a_child_per_job_with_summary(tmp_path):
    result = run_cli(["-m", *FAST, "model=mlp,cnn", "seed=1,2"], cwd=tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]
    parent, children = parent_and_children(tmp_path)
    assert parent.info.status == "FINISHED" and len(children) == 4
    assert {c.info.status for c in children} == {"FINISHED"}
    assert {c.info.experiment_id for c in children} == {parent.info.experiment_id}
    # one line per job (swept values, objective, duration), not each job's full summary
    output = result.stdout + result.stderr
    assert all(f"[sweep] job {k}/4 " in output for k in range(1, 5))
    assert "[sweep] job 4/4 model=cnn seed=2: val_accuracy=" in output and "tfexp run FINISHED" not in output
    # readable names that never repeat (MLflow's own are drawn from the reseeded `random`)
    names = {c.info.run_name for c in children}
    assert names == {f"model={m} seed={s}" for m in ("mlp", "cnn") for s in (1, 2)}
    assert parent.info.run_name == "sweep: model, seed (4 jobs)"

    best = max(children, key=lambda c: c.data.metrics["objective"])
    assert parent.data.tags["tfexp.best_run_id"] == best.info.run_id
    assert parent.data.metrics["best_objective"] == pytest.approx(best.data.metrics["val_accuracy"])

    assert parent.data.params == {"model": "mlp,cnn", "seed": "1,2"}  # the swept space
    # seeds aggregated per model, under readable names: mean and sample std of the children's objective
    for model in ("mlp", "cnn"):
        values = [c.data.metrics["objective"] for c in children if c.data.params["model.name"] == model]
        assert len(values) == 2
        assert parent.data.metrics[f"model:{model}/val_accuracy_mean"] == pytest.approx(statistics.fmean(values))
        assert parent.data.metrics[f"model:{model}/val_accuracy_std"] == pytest.approx(statistics.stdev(values))

    artifacts = artifact_paths(tmp_path, parent.info.run_id)
    assert {"summary/sweep_jobs.csv", "summary/sweep_summary.md", "summary/objective_by_parameter.png"} <= artifacts
    (table,) = (tmp_path / "multirun").glob("*/*/summary/sweep_jobs.csv")
    rows = list(csv.DictReader(table.open()))
    assert [(r["model"], r["seed"], r["status"]) for r in rows] == [
        ("mlp", "1", "FINISHED"), ("mlp", "2", "FINISHED"), ("cnn", "1", "FINISHED"), ("cnn", "2", "FINISHED")
    ]
    assert "Sweep finished: 4 jobs, 0 failed" in result.stdout + result.stderr
    assert f"/runs/{parent.info.run_id}?workflowType=machine_learning" in result.stdout + result.stderr
    # the parent's overview page describes the result: best job and the job table
    note = parent.data.tags["mlflow.note.content"]
    assert f"**Best:** job {best.data.tags['tfexp.job']}" in note and "| job | model | seed | status |" in note

    # TensorBoard's HParams dashboard sees the swept values of each job
    (job_dir,) = (tmp_path / "multirun").glob("*/*/3/tensorboard")
    events = EventAccumulator(str(job_dir))
    events.Reload()
    from tensorboard.plugins.hparams import plugin_data_pb2

    content = events.PluginTagToContent("hparams")
    session = plugin_data_pb2.HParamsPluginData.FromString(content["_hparams_/session_start_info"]).session_start_info
    assert session.hparams["model"].string_value == "cnn" and session.hparams["seed"].number_value == 2


@pytest.mark.slow
def test_a_sweep_without_any_tracker_still_writes_its_summary(tmp_path):
    """MLflow disabled: no parent run, no store; both jobs run, the sweep exits 0 and its summary
    (job table, best job, seed mean ± std, plot) is computed from what the jobs returned."""
    result = run_cli(["-m", *FAST, "seed=1,2"], cwd=tmp_path, env={"TFEXP_DISABLE_PLUGINS": "mlflow_tracker"})
    output = result.stdout + result.stderr
    assert result.returncode == 0, output[-3000:]
    assert not (tmp_path / "mlflow.db").exists() and "MLflow" not in output
    (sweep_dir,) = (tmp_path / "multirun").glob("*/*")
    rows = list(csv.DictReader((sweep_dir / "summary" / "sweep_jobs.csv").open()))
    assert [(r["job"], r["seed"], r["status"]) for r in rows] == [("0", "1", "FINISHED"), ("1", "2", "FINISHED")]
    # each job's objective is the val_accuracy its own TensorBoard log ends with
    values = []
    for row in rows:
        events = EventAccumulator(str(sweep_dir / row["job"] / "tensorboard"))
        events.Reload()
        (last,) = events.Tensors("val_accuracy")[-1:]
        values.append(float(last.tensor_proto.float_val[0]))
        assert float(row["val_accuracy"]) == pytest.approx(values[-1], rel=1e-5)
    mean, std = statistics.fmean(values), statistics.stdev(values)
    assert f"| all | {mean:.4f} | {std:.4f} | 2 |" in (sweep_dir / "summary" / "sweep_summary.md").read_text()
    assert (sweep_dir / "summary" / "objective_by_parameter.png").stat().st_size > 1000
    best = max(range(2), key=lambda i: values[i])
    assert f"best: job {best} (seed={best + 1}): val_accuracy={values[best]:.4g}" in output
    assert f"all: val_accuracy {mean:.4f} ± {std:.4f} over 2 seeds" in output
    assert f"sweep directory: {sweep_dir.resolve()}" in output and f"tensorboard --logdir {sweep_dir.resolve()}" in output


@pytest.mark.slow
def test_a_failing_job_fails_the_parent_but_not_the_sweep(tmp_path):
    result = run_cli(["-m", *FAST, "trainer.optimizer=adam,no_such_optimizer,sgd"], cwd=tmp_path)
    assert result.returncode == 1
    parent, children = parent_and_children(tmp_path)
    statuses = {c.data.params["trainer.optimizer"]: c.info.status for c in children}
    assert statuses == {"adam": "FINISHED", "no_such_optimizer": "FAILED", "sgd": "FINISHED"}
    assert parent.info.status == "FAILED" and parent.data.metrics["jobs_failed"] == 1
    assert "summary/sweep_jobs.csv" in artifact_paths(tmp_path, parent.info.run_id)
    assert "Sweep finished: 3 jobs, 1 failed" in result.stdout + result.stderr


@pytest.mark.slow
def test_optuna_search_runs_its_trials_as_children(tmp_path):
    result = run_cli(["hparams_search=supervised_optuna", "hydra.sweeper.n_trials=3", *FAST], cwd=tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]
    parent, children = parent_and_children(tmp_path)
    assert len(children) == 3 and parent.info.status == "FINISHED"
    rates = {c.data.params["trainer.learning_rate"] for c in children}
    assert len(rates) == 3  # the sampler proposed three different learning rates


@pytest.mark.parametrize(
    "preset,experiment", [("supervised_optuna", "baseline"), ("distill_optuna", "distill")]
)
def test_search_spaces_name_keys_of_the_experiment_they_tune(preset, experiment):
    """A misspelled key in a search space would only fail once the sweep is running."""
    from omegaconf import OmegaConf

    cfg = compose([f"+experiment={experiment}", f"hparams_search={preset}"], with_hydra=True)
    sweeper = cfg.hydra.sweeper
    assert sweeper._target_.endswith("TfexpOptunaSweeper")
    for key in sweeper.params:
        assert OmegaConf.select(cfg, key, default="missing") != "missing", key


@pytest.mark.slow
def test_joblib_runs_parallel_jobs_into_one_sqlite_store(tmp_path):
    result = run_cli(["-m", *FAST, "seed=1,2", "hydra/launcher=joblib", "hydra.launcher.n_jobs=2"], cwd=tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]
    parent, children = parent_and_children(tmp_path)
    assert sorted(c.data.params["seed"] for c in children) == ["1", "2"]
    assert all("val_accuracy" in c.data.metrics for c in children)


BASIC, OPTUNA = "hydra._internal.core_plugins.basic_sweeper.BasicSweeper", "hydra_plugins.tfexp_optuna_sweeper.sweeper.TfexpOptunaSweeper"


@pytest.mark.parametrize(
    "sweeper,task,jobs",
    [
        ({"_target_": BASIC, "params": None}, ["debug=fast", "model=mlp,cnn", "seed=1,2,3"], 6),
        ({"_target_": BASIC, "params": {"seed": "1,2", "model": "mlp,cnn"}}, ["seed=1,2,3"], 6),  # the command line wins
        ({"_target_": BASIC, "params": None}, ["trainer.epochs=range(1,5)"], 4),
        ({"_target_": BASIC, "params": None}, ["+experiment=glob(*)"], None),  # known only to Hydra's loader
        ({"_target_": OPTUNA, "n_trials": 7}, ["debug=fast"], 7),
    ],
)
def test_sweeps_know_how_many_jobs_they_run(sweeper, task, jobs):
    from omegaconf import OmegaConf

    from tfexp.sweep import job_count

    assert job_count(OmegaConf.create({"hydra": {"sweeper": sweeper, "overrides": {"task": task}}})) == jobs


def test_seed_aggregation_ignores_failed_jobs():
    jobs = [
        SweepJob(0, {"seed": "1", "lr": "0.1"}, "FINISHED", "val_accuracy", 0.5),
        SweepJob(1, {"seed": "2", "lr": "0.1"}, "FINISHED", "val_accuracy", 0.7),
        SweepJob(2, {"seed": "3", "lr": "0.1"}, "FAILED", "val_accuracy", float("nan")),
    ]
    mean, std, n = aggregate_over_seeds(jobs, ["lr", "seed"])["lr=0.1"]
    assert (mean, n) == (pytest.approx(0.6), 2) and std == pytest.approx(statistics.stdev([0.5, 0.7]))


@pytest.mark.slow
def test_every_preset_runs_in_one_sweep(tmp_path):
    presets = sorted(p.stem for p in (Path(tfexp.__file__).parent / "conf" / "experiment").glob("*.yaml"))
    result = run_cli(["-m", "+experiment=glob(*)", *FAST], cwd=tmp_path, timeout=1200)
    assert result.returncode == 0, result.stderr[-3000:]
    jobs = [r for r in mlflow_runs(tmp_path) if r.data.tags.get("tfexp.sweep") != "parent"]
    assert sorted(r.data.tags["tfexp.job"] for r in jobs) == [str(i) for i in range(len(presets))]
    assert all(r.info.status == "FINISHED" for r in jobs)



def test_a_job_killed_before_its_result_is_a_failed_row(tmp_path):
    """A job directory without ``sweep_job.json`` (the job's process was killed) is listed FAILED;
    the summary is still written, ranked over the jobs that finished."""
    import json

    from tfexp.sweep import JOB_FILE, read_jobs
    from tfexp.sweep_records import Sweep
    from tfexp.sweep_summary import result_block, summarize

    sweep = Sweep(tmp_path, "sweep: lr (3 jobs)", {"lr": "0.1,0.01,0.001"}, ["lr=0.1,0.01,0.001"], 3, "val_accuracy", "maximize", "k", False)
    for index, (lr, value) in enumerate([("0.1", 0.6), ("0.01", 0.8)]):
        (tmp_path / str(index)).mkdir()
        job = SweepJob(index, {"lr": lr, "debug": "fast"}, "FINISHED", "val_accuracy", value, duration_s=1.5)
        (tmp_path / str(index) / JOB_FILE).write_text(json.dumps(job.to_dict()))
    (tmp_path / "2" / ".hydra").mkdir(parents=True)
    (tmp_path / "2" / ".hydra" / "overrides.yaml").write_text("- lr=0.001\n- debug=fast\n")

    summary = summarize(sweep, read_jobs(sweep))
    rows = list(csv.DictReader((tmp_path / "summary" / "sweep_jobs.csv").open()))
    assert [(r["job"], r["lr"], r["status"]) for r in rows] == [("0", "0.1", "FINISHED"), ("1", "0.01", "FINISHED"), ("2", "0.001", "FAILED")]
    assert summary.best.index == 1 and summary.metrics["jobs_failed"] == 1 and summary.metrics["best_objective"] == 0.8
    block = result_block(sweep, summary)
    assert "Sweep finished: 3 jobs, 1 failed." in block and "best: job 1 (lr=0.01): val_accuracy=0.8" in block
