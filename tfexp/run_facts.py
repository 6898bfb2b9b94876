"""What every tracker records about a run, produced once by the core and sent through the
tracking sink (lightning-hydra-template's "send hparams to all loggers").

A tracker implements the sink hooks and receives all of it: the resolved config as flat
params with secrets masked, the run's tags, the config files, the traceback of a failure and
the run's log file. It computes none of it, so a third-party tracker gets the same facts as
MLflow does.
"""

from __future__ import annotations

import subprocess
import traceback
from pathlib import Path
from typing import Any

import yaml
from omegaconf import DictConfig, OmegaConf

from tfexp import __version__
from tfexp.always_hooks import call_isolated
from tfexp.secrets import redact

CONFIG_DIR = "config"
"""Masked copies of the run's config under ``<output_dir>/config``, logged as ``config/``."""


def flatten(node: Any, prefix: str = "") -> dict[str, Any]:
    """``{"model": {"units": [8]}}`` -> ``{"model.units": [8]}``; lists stay whole values."""
    if isinstance(node, dict):
        out: dict[str, Any] = {}
        for key, value in node.items():
            out.update(flatten(value, f"{prefix}{key}."))
        return out
    return {prefix[:-1]: node}


def masked_config(cfg: DictConfig) -> dict:
    """The resolved config as plain containers, secrets masked."""
    return redact(OmegaConf.to_container(cfg, resolve=True))


def config_params(cfg: DictConfig) -> dict[str, Any]:
    """The params every tracker receives: the resolved config, flat dotted keys, masked."""
    return flatten(masked_config(cfg))


def masked_overrides(overrides: list[str]) -> list[str]:
    """The run's command-line overrides as trackers may show them (``db.password=***``)."""
    return redact(list(overrides))


def git_commit(cwd: Path) -> str | None:
    """The commit of the user's project (where tfexp was started), None outside git."""
    try:
        out = subprocess.run(["git", "rev-parse", "HEAD"], cwd=cwd, capture_output=True, text=True, timeout=5)
    except (OSError, subprocess.TimeoutExpired):
        return None
    return out.stdout.strip() if out.returncode == 0 else None


def run_tags(run) -> dict[str, str]:
    """What the run is: version, components, subject, plugins, commit, overrides, sweep job."""
    cfg, pm = run.cfg, run.plugin_manager
    tags = {
        "tfexp.version": __version__,
        "tfexp.technique": cfg.technique.name,
        "tfexp.model": cfg.model.name,
        "tfexp.data": cfg.data.name,
        "tfexp.strategy": cfg.strategy.name,
        "tfexp.output_dir": str(run.output_dir),
        **{f"tfexp.{key}": value for key, value in run.subject.items()},  # RL: tfexp.agent, tfexp.env
        "tfexp.plugins": ", ".join(sorted(f"{name}=={dist.version}" for name, dist in pm.distributions.items())),
    }
    if commit := git_commit(Path.cwd()):
        tags["tfexp.git_commit"] = commit
    if run.overrides:
        tags["tfexp.overrides"] = " ".join(masked_overrides(run.overrides))
    if (job := hydra_job_num()) is not None:
        tags["tfexp.job"] = str(job)
    return tags


def write_config_files(run) -> Path:
    """``<output_dir>/config/config.yaml`` (resolved) and ``config/hydra/*.yaml``, masked."""
    directory = run.output_dir / CONFIG_DIR
    (directory / "hydra").mkdir(parents=True, exist_ok=True)
    (directory / "config.yaml").write_text(yaml.safe_dump(masked_config(run.cfg), sort_keys=False))
    for hydra_file in sorted((run.output_dir / ".hydra").glob("*.yaml")):
        content = redact(yaml.safe_load(hydra_file.read_text()))
        (directory / "hydra" / hydra_file.name).write_text(yaml.safe_dump(content, sort_keys=False))
    return directory


def publish_start(run) -> None:
    """Tags, params and config files of a new run, once every tracker has opened it in
    ``tfexp_before_run``. A resumed run has them already (params cannot change)."""
    if run.info.get("resume"):
        return
    run.set_tags(run_tags(run))
    run.log_params(config_params(run.cfg))
    run.log_artifact(write_config_files(run), CONFIG_DIR)


def error_line(error: BaseException) -> str:
    """``Type: message (notes)``: the one line a tracker shows for a failed run."""
    notes = "".join(f" ({note})" for note in getattr(error, "__notes__", ()))
    return f"{type(error).__name__}: {error}{notes}"[:5000]


def publish_error(run, error: BaseException) -> None:
    """The traceback (``error/traceback.txt``) and the ``tfexp.error`` tag of a failed run.
    Each tracker is called on its own: one that fails cannot hide the run's error."""
    path = run.output_dir / "error" / "traceback.txt"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(traceback.format_exception(error)))
    call_isolated(run.plugin_manager, "tfexp_log_artifact", run=run, path=str(path), artifact_path="error")
    call_isolated(run.plugin_manager, "tfexp_set_tags", run=run, tags={"tfexp.error": error_line(error)})


def publish_log_file(run) -> None:
    """The run's console log (``<output_dir>/<job name>.log``) as ``logs/``, before trackers close."""
    log_file = run.output_dir / f"{job_name()}.log"
    if log_file.is_file():
        call_isolated(run.plugin_manager, "tfexp_log_artifact", run=run, path=str(log_file), artifact_path="logs")


def job_name() -> str:
    """Hydra's job name (the log file's stem), ``tfexp`` outside Hydra."""
    from hydra.core.hydra_config import HydraConfig

    return HydraConfig.get().job.name if HydraConfig.initialized() else "tfexp"


def hydra_job_num() -> int | None:
    """The job's number within a multirun (None for a single run)."""
    from hydra.core.hydra_config import HydraConfig
    from hydra.types import RunMode

    if HydraConfig.initialized() and HydraConfig.get().mode == RunMode.MULTIRUN:
        return HydraConfig.get().job.num
    return None
