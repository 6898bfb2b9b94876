"""Run names a person can read in the MLflow UI, and that never repeat.

MLflow names a run started without ``run_name`` from Python's global ``random``, which
tfexp reseeds per job: jobs of one sweep process would share names. So every run gets one
here: ``tracking.run_name`` if set, else a sweep job's swept values (``model=cnn seed=2``,
:meth:`tfexp.sweep_records.Sweep.label`), else ``<preset or technique-subject>-<suffix>``.
"""

from __future__ import annotations

import secrets

from tfexp.sweep import current_sweep, override_pairs


def run_name(run) -> str:
    """The MLflow run name of a new run (see the module docstring)."""
    cfg = run.cfg
    if sweep := current_sweep():
        in_sweep = sweep.label(override_pairs(run.overrides))
        return f"{cfg.tracking.run_name} {in_sweep}" if cfg.tracking.run_name else in_sweep
    if cfg.tracking.run_name:
        return cfg.tracking.run_name
    base = _preset() or "-".join([cfg.technique.name, *run.subject.values()])
    return f"{base}-{secrets.token_hex(3)}"  # os.urandom: reseeding `random` cannot repeat it


def _preset() -> str | None:
    """``experiment=NAME``'s name, when the run was started from a preset."""
    from hydra.core.hydra_config import HydraConfig

    return HydraConfig.get().runtime.choices.get("experiment") if HydraConfig.initialized() else None
