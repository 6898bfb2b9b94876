"""The Optuna sweeper's tfexp plugin (entry point ``optuna_sweeper``): pruning inside a
trial, and the sweeper's part in the sweep hooks.

Pruning: the sweeper runs each trial with ``sweep.trial=<number>``. This plugin opens that
trial in the study's storage, reports ``sweep.objective`` every time the metric appears in an
epoch's logs (so each stage of a multi-stage technique reports; steps are counted across
stages) and, when the pruner says so, tags the run ``tfexp.pruned=<epoch>`` and raises
:class:`tfexp.pruning.TrialPruned`. The runner ends the run as KILLED (not FAILED), the job
returns the exception to the sweeper, which tells Optuna the trial was pruned.

Sweep hooks: before any tracker sees the sweep, it becomes the study: its key is the study's
storage and name (a rerun continues the study, so the sweep always resumes) and its size the
study's ``n_trials`` (at most the grid). At the end the study's plots and best trial join the
summary.
"""

from __future__ import annotations

from tfexp import hookimpl
from tfexp.pruning import TrialPruned

OPTUNA = "hydra_plugins.tfexp_optuna_sweeper.sweeper.TfexpOptunaSweeper"


def _is_optuna(sweep) -> bool:
    return sweep.cfg is not None and sweep.cfg.hydra.sweeper._target_ == OPTUNA


@hookimpl(tryfirst=True)
def tfexp_sweep_start(sweep):
    if not _is_optuna(sweep):
        return
    from hydra_plugins.tfexp_optuna_sweeper.study import check_names, identity, open_storage
    from hydra_plugins.tfexp_optuna_sweeper.sweeper import plan
    from tfexp.sweep import key_of

    config = sweep.cfg
    check_names(config.hydra.sweeper)  # before any tracker opens a record of the sweep
    url, name = identity(config)
    open_storage(url)
    sweep.key, sweep.resume = key_of(f"optuna study {name!r} in {url}"), True
    sweep.n_jobs = plan(config.hydra.sweeper, list(config.hydra.overrides.task))[3]


@hookimpl(tryfirst=True)
def tfexp_sweep_end(sweep, summary):
    if _is_optuna(sweep):
        from hydra_plugins.tfexp_optuna_sweeper.report import report_study

        report_study(sweep.cfg, summary, sweep.directory / "summary" / "study")


def open_trial(cfg):
    """The running Optuna trial of this job, with the study's pruner."""
    import optuna
    from hydra.core.hydra_config import HydraConfig

    from hydra_plugins.tfexp_optuna_sweeper.study import make_pruner, open_storage

    sweeper = HydraConfig.get().sweeper
    storage = open_storage(sweeper.storage)
    study_id = storage.get_study_id_from_name(sweeper.study_name)
    trial_id = storage.get_trial_id_from_study_id_trial_number(study_id, cfg.sweep.trial)
    study = optuna.load_study(study_name=sweeper.study_name, storage=storage, pruner=make_pruner(sweeper))
    return optuna.Trial(study, trial_id)


@hookimpl
def tfexp_on_epoch_end(run, epoch, logs):
    objective = run.cfg.sweep.objective
    if run.cfg.sweep.get("trial") is None or run.cfg.sweep.objectives or objective not in logs:
        return  # not a trial, or a multi-objective one (Optuna cannot prune those)
    if "optuna_trial" not in run.info:
        run.info["optuna_trial"] = open_trial(run.cfg)
    trial = run.info["optuna_trial"]
    step = run.info["optuna_step"] = run.info.get("optuna_step", -1) + 1
    trial.report(logs[objective], step)
    if trial.should_prune():
        run.set_tags({"tfexp.pruned": str(epoch)})
        raise TrialPruned(epoch)
