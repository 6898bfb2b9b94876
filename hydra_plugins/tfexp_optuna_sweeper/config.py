"""The sweeper's keys under ``hydra.sweeper`` (registered as ``hydra/sweeper=optuna``).

What a trial optimizes is not here but in ``sweep.objective``/``sweep.direction``, which
every job reads too."""


from dataclasses import dataclass, field
from typing import Optional

from hydra.core.config_store import ConfigStore


@dataclass
class TfexpOptunaSweeperConf:
    _target_: str = "hydra_plugins.tfexp_optuna_sweeper.sweeper.TfexpOptunaSweeper"
    sampler: str = "tpe"
    """tpe, random, cmaes, grid, qmc or nsga2 (multi-objective)."""
    pruner: str = "none"
    """none, median, successive_halving or hyperband: stop bad trials at an epoch boundary."""
    n_trials: int = 20
    """The study's total: a rerun only runs the trials still missing."""
    n_jobs: int = 1
    """Trials launched at once (a parallel launcher runs them side by side)."""
    seed: Optional[int] = "${seed}"  # type: ignore[assignment]
    n_startup_trials: Optional[int] = None
    """Random trials before TPE/CMA-ES model the results, and completed trials before the
    median pruner prunes; null: a quarter of n_trials, between 3 and 10."""
    warmup_epochs: int = 1
    """Epochs every trial runs before the pruner may stop it."""
    storage: Optional[str] = None
    """Optuna storage URL; null: ``optuna.db`` beside the MLflow sqlite store (or in the
    working directory)."""
    study_name: Optional[str] = None
    """null: the command's overrides, so rerunning the same command continues its study."""
    max_failure_rate: float = 1.0
    """Stop the sweep when more than this fraction of a batch fails (1.0: never)."""
    params: Optional[dict[str, str]] = field(default=None)
    """The search space: ``key: choice(...) | interval(...) | range(...) | tag(log, interval(...))``."""


ConfigStore.instance().store(group="hydra/sweeper", name="optuna", node=TfexpOptunaSweeperConf, provider="tfexp")
