"""The sweep loop: ask Optuna for trials, launch them as Hydra jobs, tell Optuna the result.

Each job gets the trial's parameters as overrides plus ``sweep.trial=<number>`` and the
study's storage and name (``hydra.sweeper.*``), which :mod:`tfexp.pruning` uses to report
epochs and to be pruned. The job number is the trial number, so a study's jobs keep
distinct numbers (``tfexp.job``) across reruns.

Resuming: the study is created with ``load_if_exists``; a rerun runs only the trials still
missing from ``n_trials``. A trial left RUNNING by a killed sweep is run again as the same
trial (same number, same parameters): run one sweep process per study.
"""

from __future__ import annotations

import logging
import math
from types import SimpleNamespace
from typing import Any

from hydra.core.utils import JobStatus
from hydra.plugins.sweeper import Sweeper
from hydra.types import HydraContext, TaskFunction
from omegaconf import DictConfig

from hydra_plugins.tfexp_optuna_sweeper import search_space, study as studies

log = logging.getLogger("tfexp.sweep")


def quoted(value: str) -> str:
    """A string as a Hydra override value, whatever characters it holds."""
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


def plan(settings: Any, arguments: list[str]) -> tuple[dict, list[str], dict | None, int]:
    """The search space, the fixed overrides, the grid (grid sampler) and the study's total
    number of trials (at most the grid's size)."""
    params = [f"{key}={value}" for key, value in (settings.params or {}).items()]
    space, fixed = search_space.parse(params + list(arguments))
    grid = search_space.grid(space) if settings.sampler == "grid" else None
    n_trials = min(settings.n_trials, math.prod(len(v) for v in grid.values())) if grid else settings.n_trials
    return space, fixed, grid, n_trials


def directions(sweep: Any) -> list[str]:
    """``sweep.directions`` for ``sweep.objectives``, else ``[sweep.direction]``."""
    return list(sweep.directions) if sweep.objectives else [sweep.direction]


class TfexpOptunaSweeper(Sweeper):
    def __init__(self, **settings: Any) -> None:
        self.settings = SimpleNamespace(**settings)
        studies.check_names(self.settings)

    def setup(self, *, hydra_context: HydraContext, task_function: TaskFunction, config: DictConfig) -> None:
        from hydra.core.plugins import Plugins

        self.config = config
        self.launcher = Plugins.instance().instantiate_launcher(config=config, hydra_context=hydra_context, task_function=task_function)

    def sweep(self, arguments: list[str]) -> None:
        import optuna

        s = self.settings
        space, fixed, grid, n_trials = plan(s, arguments)
        url, name = studies.identity(self.config)
        optuna.logging.set_verbosity(optuna.logging.WARNING)
        storage = studies.open_storage(url)
        earlier = {summary.study_name: summary.n_trials for summary in optuna.get_all_study_summaries(storage)}.get(name, 0)
        study = optuna.create_study(
            storage=storage, study_name=name, load_if_exists=True, directions=directions(self.config.sweep),
            sampler=studies.make_sampler(s, grid, earlier), pruner=studies.make_pruner(s),
        )
        trials = study.get_trials(deepcopy=False)
        retry = [optuna.Trial(study, t._trial_id) for t in trials if t.state == optuna.trial.TrialState.RUNNING]
        waiting = sum(t.state == optuna.trial.TrialState.WAITING for t in trials)
        to_ask = max(0, n_trials - len(trials) + waiting)
        log.info(
            "Optuna study %r in %s: %d of %d trials done, %d interrupted to rerun, %d to run; sampler=%s pruner=%s",
            name, url, len(trials) - len(retry) - waiting, n_trials, len(retry), to_ask, s.sampler, s.pruner,
        )
        study_overrides = [f"hydra.sweeper.storage={quoted(url)}", f"hydra.sweeper.study_name={quoted(name)}"]
        failures = 0
        while retry or to_ask:
            batch, retry = retry[: s.n_jobs], retry[s.n_jobs :]
            while len(batch) < s.n_jobs and to_ask:
                batch.append(study.ask(fixed_distributions=space))
                to_ask -= 1
            overrides = [
                [f"{k}={v}" for k, v in t.params.items()] + fixed + [f"sweep.trial={t.number}", *study_overrides] for t in batch
            ]
            for trial, ret in zip(batch, self.launch(batch, overrides)):
                failures += not self.tell(study, trial, ret)
            if failures > s.max_failure_rate * len(study.trials):
                raise RuntimeError(f"{failures} trials failed, more than hydra.sweeper.max_failure_rate={s.max_failure_rate}")
        for best in study.best_trials:
            log.info("Best trial #%d: values=%s params=%s", best.number, best.values, best.params)

    def launch(self, trials: list, overrides: list[list[str]]) -> list:
        """Launch with job number = trial number (one launch per run of consecutive numbers)."""
        returns, start = [], 0
        for end in range(1, len(trials) + 1):
            if end == len(trials) or trials[end].number != trials[end - 1].number + 1:
                returns += self.launcher.launch(overrides[start:end], initial_job_idx=trials[start].number)
                start = end
        return returns

    def tell(self, study, trial, ret) -> bool:
        """Record a job's result on its trial; False when the job failed."""
        import optuna

        from tfexp.pruning import TrialPruned

        state, values = optuna.trial.TrialState.FAIL, None
        if ret.status == JobStatus.COMPLETED:
            returned = ret.return_value if isinstance(ret.return_value, (list, tuple)) else [ret.return_value]
            if len(returned) == len(study.directions) and all(isinstance(v, (int, float)) and math.isfinite(v) for v in returned):
                state, values = optuna.trial.TrialState.COMPLETE, [float(v) for v in returned]
        elif isinstance(ret._return_value, TrialPruned):
            state = optuna.trial.TrialState.PRUNED
        try:
            study.tell(trial, values, state=state)
        except RuntimeError as exc:  # the grid sampler stops the study after its last point
            if "Study.stop" not in str(exc):
                raise
        return state != optuna.trial.TrialState.FAIL
