"""Run names a person can read in the MLflow UI, and that never repeat.

MLflow names a run started without ``run_name`` from Python's global ``random``, which
tfexp reseeds per job: jobs of one sweep process would share names. So every run gets one
here: ``tracking.run_name`` if set, else a sweep job's swept values (``model=cnn seed=2``,
set by :class:`tfexp.sweep.SweepTracker`), else ``<preset or technique-subject>-<suffix>``.
"""

from __future__ import annotations

import os
import secrets

JOB_NAME_ENV = "TFEXP_SWEEP_JOB_NAME"
"""A sweep job's run name, set in the job's process by the sweep callback."""


def shown_value(value: str) -> str:
    """A float override value with 4 significant digits (Optuna's are full length)."""
    try:
        number = float(value)
    except ValueError:
        return value
    return f"{number:.4g}" if "." in value or "e" in value.lower() else value


def job_name(overrides, swept_keys) -> str:
    """``model=cnn seed=2``: the job's values of the swept keys, plus its Optuna trial."""
    pairs = [o.split("=", 1) for o in overrides if "=" in o]
    shown = [f"{k}={shown_value(v)}" for k, v in pairs if k in swept_keys]
    trial = [f"(trial {v})" for k, v in pairs if k == "sweep.trial"]
    return " ".join(shown + trial) or " ".join(overrides) or "job"


def run_name(run) -> str:
    """The MLflow run name of a new run (see the module docstring)."""
    cfg = run.cfg
    in_sweep = os.environ.get(JOB_NAME_ENV)
    if in_sweep:
        return f"{cfg.tracking.run_name} {in_sweep}" if cfg.tracking.run_name else in_sweep
    if cfg.tracking.run_name:
        return cfg.tracking.run_name
    base = _preset() or "-".join([cfg.technique.name, *run.subject.values()])
    return f"{base}-{secrets.token_hex(3)}"  # os.urandom: reseeding `random` cannot repeat it


def _preset() -> str | None:
    """``experiment=NAME``'s name, when the run was started from a preset."""
    from hydra.core.hydra_config import HydraConfig

    return HydraConfig.get().runtime.choices.get("experiment") if HydraConfig.initialized() else None
