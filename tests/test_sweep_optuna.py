"""tfexp's Optuna sweeper: samplers, pruning, resuming after a kill, parallel trials.

Real Hydra multiruns (``python -m tfexp``) on a real sqlite Optuna storage in tmp_path."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from types import SimpleNamespace

import optuna
import pytest

from hydra_plugins.tfexp_optuna_sweeper import search_space
from hydra_plugins.tfexp_optuna_sweeper.study import SAMPLERS, make_pruner, make_sampler
from tfexp.testing import artifact_paths, mlflow_runs, run_cli

FAST = ["debug=fast", "tracking.log_model=false", "tracking.tensorboard=false", "export.formats=[]"]
OPTUNA = ["hparams_search=supervised_optuna", "hydra.sweeper.pruner=none", *FAST]


def the_study(tmp_path) -> optuna.Study:
    storage = f"sqlite:///{tmp_path / 'optuna.db'}"
    (name,) = optuna.get_all_study_names(storage)
    return optuna.load_study(study_name=name, storage=storage)


def parent_and_children(tmp_path):
    runs = mlflow_runs(tmp_path)
    (parent,) = [r for r in runs if r.data.tags.get("tfexp.sweep") == "parent"]
    children = [r for r in runs if r.data.tags.get("mlflow.parentRunId") == parent.info.run_id]
    return parent, children


def runs_by_job(children) -> dict[int, list[str]]:
    jobs: dict[int, list[str]] = {}
    for child in children:
        jobs.setdefault(int(child.data.tags["tfexp.job"]), []).append(child.info.status)
    return jobs


def kill_when(args, line: str, cwd, grace: float = 0.5) -> None:
    """Start ``python -m tfexp args``; SIGKILL it ``grace`` seconds after ``line`` appears."""
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2", "PYTHONUNBUFFERED": "1"}  # Hydra logs launches to stdout
    env.pop("MLFLOW_TRACKING_URI", None)
    proc = subprocess.Popen([sys.executable, "-m", "tfexp", *args], cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    seen = []
    for text in proc.stdout:
        seen.append(text)
        if line in text:
            time.sleep(grace)
            proc.send_signal(signal.SIGKILL)
            break
    proc.wait(timeout=60)
    assert proc.returncode == -signal.SIGKILL, "".join(seen)[-3000:]


CLASSES = {"tpe": "TPESampler", "random": "RandomSampler", "cmaes": "CmaEsSampler", "grid": "GridSampler", "qmc": "QMCSampler", "nsga2": "NSGAIISampler"}


@pytest.mark.parametrize("name", SAMPLERS)
def test_every_sampler_by_name_samples_the_search_space(tmp_path, name):
    arguments = ["trainer.learning_rate=tag(log, interval(0.0001, 0.1))", "model.hidden_units=choice([64],[128])", "trainer.epochs=range(1,4)", "debug=fast"]
    if name == "grid":  # a grid needs discrete values
        arguments = arguments[1:]
    space, fixed = search_space.parse(arguments)
    assert fixed == ["debug=fast"]
    settings = SimpleNamespace(sampler=name, n_trials=4, n_startup_trials=None, seed=0)
    sampler = make_sampler(settings, search_space.grid(space) if name == "grid" else None)
    study = optuna.create_study(storage=f"sqlite:///{tmp_path / 'optuna.db'}", sampler=sampler, direction="maximize")
    for i in range(4):
        trial = study.ask(fixed_distributions=space)
        assert trial.params["model.hidden_units"] in ("[64]", "[128]") and trial.params["trainer.epochs"] in (1, 2, 3)
        study.tell(trial, float(i))
    assert type(sampler).__name__ == CLASSES[name]


def test_the_grid_sampler_runs_at_most_its_grid():
    from hydra_plugins.tfexp_optuna_sweeper.sweeper import plan

    settings = SimpleNamespace(sampler="grid", n_trials=20, params={"seed": "choice(1,2,3)"})
    assert plan(settings, ["model=choice(mlp,cnn)", "debug=fast"])[3] == 6
    settings.n_trials = 4
    assert plan(settings, ["model=choice(mlp,cnn)", "debug=fast"])[3] == 4


@pytest.mark.slow
def test_grid_sampler_prunes_the_bad_trial_and_the_summary_counts_it(tmp_path):
    """Grid over a good and a useless learning rate; with seed=1 the good one runs first,
    so the median pruner stops the other after its first epoch."""
    args = [
        "-m", "hydra/sweeper=optuna", "hydra.sweeper.sampler=grid", "hydra.sweeper.pruner=median",
        "hydra.sweeper.n_startup_trials=1", "hydra.sweeper.warmup_epochs=0", "seed=1",
        "trainer.learning_rate=choice(0.01,0.00000001)", *FAST, "debug.trainer.steps_per_epoch=20",
    ]
    result = run_cli(args, cwd=tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]
    trials = the_study(tmp_path).trials
    assert [(t.params["trainer.learning_rate"], t.state.name) for t in trials] == [(0.01, "COMPLETE"), (1e-8, "PRUNED")]
    parent, children = parent_and_children(tmp_path)
    (pruned,) = [c for c in children if "tfexp.pruned" in c.data.tags]
    assert pruned.data.tags["tfexp.pruned"] == "0" and pruned.info.status == "KILLED"
    assert pruned.data.params["trainer.learning_rate"] == "1e-08" and "tfexp.error" not in pruned.data.tags
    assert parent.info.status == "FINISHED"
    assert parent.data.metrics["jobs_pruned"] == 1 and parent.data.metrics["jobs_failed"] == 0
    assert parent.data.tags["tfexp.best_params"] == '{"trainer.learning_rate": 0.01}'
    assert {"summary/study/optimization_history.png", "summary/study/intermediate_values.png"} <= artifact_paths(tmp_path, parent.info.run_id)
    assert "[sweep] job 2/2 trainer.learning_rate=1e-08 (trial 1): pruned" in result.stdout + result.stderr
    assert "Sweep finished: 2 jobs, 0 failed, 1 pruned" in result.stdout + result.stderr


@pytest.mark.slow
def test_a_killed_study_resumes_where_it_stopped(tmp_path):
    args = [*OPTUNA, "hydra.sweeper.n_trials=3", "hydra.sweeper.sampler=random"]
    kill_when(args, "#2 : ", cwd=tmp_path)
    before = the_study(tmp_path).trials
    assert [t.state.name for t in before] == ["COMPLETE", "COMPLETE", "RUNNING"]

    result = run_cli(args, cwd=tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "2 of 3 trials done, 1 interrupted to rerun, 0 to run" in result.stdout + result.stderr
    after = the_study(tmp_path).trials
    assert [t.state.name for t in after] == ["COMPLETE"] * 3  # n_trials is the total
    assert [t.params for t in after] == [t.params for t in before]  # the interrupted one kept its parameters
    parent, children = parent_and_children(tmp_path)  # one parent: the same one
    jobs = runs_by_job(children)
    assert jobs[0] == ["FINISHED"] and jobs[1] == ["FINISHED"]  # finished trials were not rerun
    assert sorted(jobs[2]) in (["FINISHED"], ["FINISHED", "KILLED"])
    assert parent.info.status == "FINISHED" and "Sweep finished: 3 jobs, 0 failed" in result.stdout + result.stderr

    # a larger total continues the same study; a seeded random sampler does not replay trial 0
    result = run_cli([*args, "hydra.sweeper.n_trials=4"], cwd=tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]
    trials = the_study(tmp_path).trials
    assert len(trials) == 4 and trials[3].params not in [t.params for t in trials[:3]]
    assert parent_and_children(tmp_path)[0].info.run_id == parent.info.run_id


@pytest.mark.slow
def test_a_killed_grid_sweep_resumes_with_sweep_resume(tmp_path):
    args = ["-m", "seed=1,2,3", *FAST]
    kill_when(args, "#2 : seed=3", cwd=tmp_path)
    result = run_cli([*args, "sweep.resume=true"], cwd=tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]
    assert result.stderr.count("tfexp: skipped, FINISHED before") == 2
    parent, children = parent_and_children(tmp_path)
    jobs = runs_by_job(children)
    assert jobs[0] == ["FINISHED"] and jobs[1] == ["FINISHED"]
    assert sorted(jobs[2]) in (["FINISHED"], ["FINISHED", "KILLED"])
    assert parent.info.status == "FINISHED" and "Sweep finished: 3 jobs, 0 failed" in result.stdout + result.stderr


@pytest.mark.slow
@pytest.mark.long
def test_joblib_trials_share_the_study(tmp_path):
    args = [*OPTUNA, "hydra.sweeper.n_trials=4", "hydra.sweeper.n_jobs=2", "hydra/launcher=joblib", "hydra.launcher.n_jobs=2"]
    result = run_cli(args, cwd=tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]
    trials = the_study(tmp_path).trials
    assert [(t.number, t.state.name) for t in trials] == [(i, "COMPLETE") for i in range(4)]
    parent, children = parent_and_children(tmp_path)
    by_job = {int(c.data.tags["tfexp.job"]): c for c in children}
    assert sorted(by_job) == [0, 1, 2, 3]  # nothing lost or duplicated
    for trial in trials:
        child = by_job[trial.number]
        assert float(child.data.params["trainer.learning_rate"]) == pytest.approx(trial.params["trainer.learning_rate"])
        assert child.data.metrics["objective"] == pytest.approx(trial.value)


@pytest.mark.parametrize(
    "override,message",
    [
        ("hydra.sweeper.sampler=bayes", "hydra.sweeper.sampler='bayes' is unknown; known: tpe, random, cmaes, grid, qmc, nsga2"),
        ("hydra.sweeper.pruner=early", "hydra.sweeper.pruner='early' is unknown; known: none, median, successive_halving, hyperband"),
        ("hydra.sweeper.storage=postgresql://nobody@127.0.0.1:1/none", "hydra.sweeper.storage='postgresql://nobody@127.0.0.1:1/none' cannot be opened"),
    ],
)
def test_bad_sweeper_settings_are_one_clear_error(tmp_path, override, message):
    result = run_cli([*OPTUNA, override], cwd=tmp_path)
    assert result.returncode != 0 and message in result.stderr, result.stderr[-3000:]


@pytest.mark.slow
def test_a_multi_objective_sweep_writes_its_pareto_front(tmp_path):
    """Accuracy against size (``model.params``) with NSGA-II, as for distillation students."""
    args = [
        *OPTUNA, "hydra.sweeper.sampler=nsga2", "hydra.sweeper.n_trials=2",
        "sweep.objectives=[val_accuracy,model.params]", "sweep.directions=[maximize,minimize]",
    ]
    result = run_cli(args, cwd=tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]
    study = the_study(tmp_path)
    assert [d.name for d in study.directions] == ["MAXIMIZE", "MINIMIZE"]
    assert [len(t.values) for t in study.trials] == [2, 2]
    parent, children = parent_and_children(tmp_path)
    assert len(children) == 2 and all(t.values[1] > 1000 for t in study.trials)  # parameter counts, not accuracies
    assert "summary/study/pareto_front.png" in artifact_paths(tmp_path, parent.info.run_id)
    assert parent.data.tags["tfexp.pareto_trials"]


@pytest.mark.parametrize("preset,experiment", [("supervised_optuna", "baseline"), ("distill_optuna", "distill")])
def test_presets_search_with_tpe_after_a_random_start(tmp_path, preset, experiment):
    """TPE's default start-up (10 trials) would make a 10-trial study random search: the
    presets run 30 trials, 10 of them random, and the other 20 move towards the best."""
    import math

    from tfexp.testing import compose

    sweeper = compose([f"+experiment={experiment}", f"hparams_search={preset}"], with_hydra=True).hydra.sweeper
    space, _ = search_space.parse([f"{key}={value}" for key, value in sweeper.params.items()])
    sampler = make_sampler(SimpleNamespace(sampler=sweeper.sampler, n_trials=sweeper.n_trials, n_startup_trials=sweeper.n_startup_trials, seed=0))
    study = optuna.create_study(sampler=sampler, direction="maximize")
    distances = []
    for _ in range(sweeper.n_trials):
        trial = study.ask(fixed_distributions=space)
        distances.append(abs(math.log10(trial.params["trainer.learning_rate"] / 0.005)))  # 0.005: the best rate
        study.tell(trial, -distances[-1])
    startup = sweeper.n_startup_trials
    assert type(sampler).__name__ == "TPESampler" and sweeper.n_trials == 30 and startup == 10
    assert sorted(distances[startup:])[len(distances[startup:]) // 2] < sorted(distances[:startup])[startup // 2]


def test_the_distill_preset_judges_a_student_only_from_its_fifth_epoch():
    """Students that start slowly can end best (experiments/sweeps.md): the preset's pruner
    lets every trial run 5 epochs, then stops one far behind the trials before it."""
    from tfexp.testing import compose

    sweeper = compose(["+experiment=distill", "hparams_search=distill_optuna"], with_hydra=True).hydra.sweeper
    study = optuna.create_study(direction="maximize", pruner=make_pruner(sweeper))
    for value in (0.9, 0.8, 0.85, 0.95):  # finished students
        trial = study.ask()
        for epoch in range(sweeper.warmup_epochs + 1):
            trial.report(value, epoch)
            trial.should_prune()  # as every job asks after each epoch: it enters the pruner's rungs
        study.tell(trial, value)
    slow = study.ask()
    for epoch in range(sweeper.warmup_epochs):
        slow.report(0.1, epoch)
        assert not slow.should_prune(), epoch
    slow.report(0.1, sweeper.warmup_epochs)
    assert slow.should_prune()
