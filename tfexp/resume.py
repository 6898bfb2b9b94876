"""``resume=<run dir | MLflow run id>``: continue a run from its last checkpoint.

The run continues with the config it was started with (saved beside its checkpoints);
the only override allowed with ``resume=`` is a longer ``trainer.epochs``.
"""

from __future__ import annotations

from pathlib import Path

from omegaconf import DictConfig, OmegaConf

from tfexp.checkpoint import CHECKPOINT_DIR, CONFIG_FILE, CheckpointState
from tfexp.config import Config
from tfexp.errors import ConfigError

ALLOWED = ("resume", "trainer.epochs")


def save_run_config(cfg: DictConfig, output_dir: Path) -> None:
    """Keep the run's final config (debug already merged) for a later ``resume=``."""
    directory = output_dir / CHECKPOINT_DIR
    directory.mkdir(parents=True, exist_ok=True)
    saved = OmegaConf.merge(cfg, {"debug": None, "resume": None})
    OmegaConf.save(saved, directory / CONFIG_FILE)


def _run_dir(target: str, cfg: DictConfig) -> Path:
    if Path(target).is_dir():
        return Path(target).resolve()
    from mlflow import MlflowClient
    from mlflow.exceptions import MlflowException

    from tfexp_mlflow.session import tracking_uri

    try:
        run = MlflowClient(tracking_uri(cfg)).get_run(target)
    except MlflowException:
        raise ConfigError(
            f"resume={target}: neither a directory nor an MLflow run id in {tracking_uri(cfg)}. "
            f"Give the run's output directory (outputs/<date>/<time>-<id>) or its MLflow run id"
        ) from None
    return Path(run.data.tags["tfexp.output_dir"])


def resume_config(cfg: DictConfig, overrides: list[str]) -> tuple[DictConfig, CheckpointState, Path]:
    """The saved config (with a new ``trainer.epochs`` if given), the checkpoint, the run dir."""
    changes = [o for o in overrides if o.split("=", 1)[0].lstrip("+~") not in ALLOWED]
    if changes:
        raise ConfigError(
            f"resume= continues a run with its own config; these overrides would change it: {' '.join(changes)}. "
            f"Only trainer.epochs=N may be given (to train longer); start a new run to change anything else"
        )
    run_dir = _run_dir(cfg.resume, cfg)
    state = CheckpointState.read(run_dir)
    config_file = run_dir / CHECKPOINT_DIR / CONFIG_FILE
    if state is None or not config_file.is_file():
        raise ConfigError(
            f"resume={cfg.resume}: no checkpoint in {run_dir / CHECKPOINT_DIR}. "
            f"Only runs with trainer.checkpoint_every > 0 can be resumed"
        )
    saved = OmegaConf.merge(OmegaConf.structured(Config), OmegaConf.load(config_file))  # typed again
    if any(o.split("=", 1)[0] == "trainer.epochs" for o in overrides):
        saved.trainer.epochs = cfg.trainer.epochs
    if state.trained and state.epoch + 1 >= saved.trainer.epochs:
        raise ConfigError(
            f"resume={cfg.resume}: the run already completed all {saved.trainer.epochs} epochs. "
            f"Train longer with trainer.epochs=N (N > {saved.trainer.epochs})"
        )
    return saved, state, run_dir
