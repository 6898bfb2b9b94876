"""Samplers and pruners by name, and where a study lives: shared by the sweeper and by the
jobs, which open the same study to report their epochs (:mod:`tfexp.pruning`)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from tfexp.errors import ConfigError

SAMPLERS = ("tpe", "random", "cmaes", "grid", "qmc", "nsga2")
PRUNERS = ("none", "median", "successive_halving", "hyperband")


def startup_trials(sweeper: Any) -> int:
    """TPE's own default (10) makes a 10-trial study pure random search: scale it instead."""
    if sweeper.n_startup_trials is not None:
        return int(sweeper.n_startup_trials)
    return min(10, max(3, sweeper.n_trials // 4))


def check_names(sweeper: Any) -> None:
    if sweeper.sampler not in SAMPLERS:
        raise ConfigError(f"hydra.sweeper.sampler={sweeper.sampler!r} is unknown; known: {', '.join(SAMPLERS)}")
    if sweeper.pruner not in PRUNERS:
        raise ConfigError(f"hydra.sweeper.pruner={sweeper.pruner!r} is unknown; known: {', '.join(PRUNERS)}")


def make_sampler(sweeper: Any, grid: dict[str, list] | None = None, trials_so_far: int = 0):
    """The sampler, seeded from ``seed`` plus the trials the study already has: a resumed
    study must not replay the random draws of its first session."""
    import optuna.samplers as s

    name, startup = sweeper.sampler, startup_trials(sweeper)
    seed = None if sweeper.seed is None else sweeper.seed + trials_so_far
    if name == "tpe":
        return s.TPESampler(seed=seed, n_startup_trials=startup)
    if name == "random":
        return s.RandomSampler(seed=seed)
    if name == "cmaes":
        return s.CmaEsSampler(seed=seed, n_startup_trials=startup)
    if name == "grid":
        return s.GridSampler(grid, seed=seed)
    if name == "qmc":
        return s.QMCSampler(seed=seed)
    if name == "nsga2":  # about four generations in the budget, not one 50-trial random one
        return s.NSGAIISampler(seed=seed, population_size=max(2, min(50, sweeper.n_trials // 4)))
    check_names(sweeper)


def make_pruner(sweeper: Any):
    import optuna.pruners as p

    name, warmup = sweeper.pruner, int(sweeper.warmup_epochs)
    if name == "none":
        return p.NopPruner()
    if name == "median":
        return p.MedianPruner(n_startup_trials=startup_trials(sweeper), n_warmup_steps=warmup)
    if name == "successive_halving":
        return p.SuccessiveHalvingPruner(min_resource=max(1, warmup))
    if name == "hyperband":
        return p.HyperbandPruner(min_resource=max(1, warmup))
    check_names(sweeper)


def default_storage(tracking_uri: str | None) -> str:
    """``optuna.db`` beside an sqlite MLflow store, else in the working directory."""
    uri = tracking_uri or os.environ.get("MLFLOW_TRACKING_URI") or ""
    folder = Path(uri.removeprefix("sqlite:///")).parent if uri.startswith("sqlite:///") else Path.cwd()
    return f"sqlite:///{folder / 'optuna.db'}"


def identity(config: Any) -> tuple[str, str]:
    """The study's storage URL and name. The default name is the command's overrides, so
    rerunning the same command continues the same study."""
    sweeper = config.hydra.sweeper
    url = sweeper.storage or default_storage(config.tracking.uri)
    overrides = sorted(o for o in config.hydra.overrides.task if not o.startswith("sweep.resume="))
    return url, sweeper.study_name or " ".join(overrides) or "tfexp"


def open_storage(url: str):
    """The storage, or a one-line error naming the key and the URL."""
    import optuna

    try:
        return optuna.storages.get_storage(url)
    except Exception as exc:
        raise ConfigError(f"hydra.sweeper.storage={url!r} cannot be opened ({type(exc).__name__}: {exc}); fix the URL or leave it null for optuna.db") from None
