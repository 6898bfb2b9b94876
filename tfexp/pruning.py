"""Pruning inside a job of tfexp's Optuna sweeper (``hydra.sweeper.pruner=...``).

The sweeper runs each trial with ``sweep.trial=<number>``. This built-in plugin opens
that trial in the study's storage, reports ``sweep.objective`` every time the metric
appears in an epoch's logs (so each stage of a multi-stage technique reports; steps are
counted across stages) and, when the pruner says so, tags the run ``tfexp.pruned=<epoch>``
and raises :class:`TrialPruned`. The runner ends the run as KILLED (not FAILED), the job
returns the exception to the sweeper, which tells Optuna the trial was pruned.
"""

from __future__ import annotations

from tfexp import hookimpl


class TrialPruned(Exception):
    """The Optuna pruner stopped this trial at an epoch boundary."""

    def __init__(self, epoch: int):
        super().__init__(epoch)
        self.epoch = epoch

    def __str__(self) -> str:
        return f"trial pruned after epoch {self.epoch}"


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
