"""The Optuna sweeper's part in tfexp's sweep hooks (entry point ``optuna_sweeper``).

Before any tracker sees the sweep, it becomes the study: its key is the study's storage and
name (a rerun continues the study, so the sweep always resumes) and its size the study's
``n_trials`` (at most the grid). At the end the study's plots and best trial join the summary.
"""

from __future__ import annotations

from tfexp import hookimpl

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
