"""``resume=<run dir | MLflow run id>``: continue a run from its last checkpoint.

The run continues with the config it was started with (saved beside its checkpoints);
the only override allowed with ``resume=`` is a longer budget (``trainer.epochs``, or
``trainer.steps`` for a run that counts steps). A run killed after
its last epoch goes straight to evaluation and export. Refused, in one line naming the way
out: a FINISHED run (unless it trains longer), a sweep's parent, a damaged checkpoint, and
(tfexp/run_lock.py) a run that another process is running or resuming now.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from omegaconf import DictConfig, OmegaConf

from tfexp.cli_args import upgraded
from tfexp.checkpoint import CHECKPOINT_DIR, CONFIG_FILE, CheckpointState, DamagedCheckpoint, verify_files
from tfexp.config import Config
from tfexp.errors import ConfigError

ALLOWED = ("resume", "trainer.epochs", "trainer.steps")


def save_run_config(cfg: DictConfig, output_dir: Path) -> None:
    """Keep the run's final config (debug already merged) for a later ``resume=``."""
    directory = output_dir / CHECKPOINT_DIR
    directory.mkdir(parents=True, exist_ok=True)
    saved = OmegaConf.merge(cfg, {"debug": None, "resume": None})
    OmegaConf.save(saved, directory / CONFIG_FILE)


SWEEP_PARENT = "is a sweep's parent run: resume one of its jobs (resume=<the job's run dir or run id>), or rerun the sweep's command with sweep.resume=true"


def resume_dir(cfg: DictConfig, pm) -> Path:
    """The output directory of the run ``resume=`` names: a directory, or a run id one of
    ``pm``'s trackers resolves (``tfexp_locate_run``)."""
    target = cfg.resume
    if Path(target).is_dir():
        if (Path(target) / "multirun.yaml").is_file():
            raise ConfigError(f"resume={target} {SWEEP_PARENT}")
        return Path(target).resolve()
    from tfexp.resolvers import locate_run

    return locate_run(pm, cfg, target)  # a tracker's run id (MLflow's)


def resume_config(cfg: DictConfig, overrides: list[str], run_dir: Path) -> tuple[DictConfig, CheckpointState]:
    """The saved config of the run in ``run_dir`` (with a longer budget if given) and the
    checkpoint it continues from."""
    changes = [o for o in overrides if o.split("=", 1)[0].lstrip("+~") not in ALLOWED]
    if changes:
        raise ConfigError(
            f"resume= continues a run with its own config; these overrides would change it: {' '.join(changes)}. "
            f"Only trainer.epochs=N (or trainer.steps=N) may be given (to train longer); start a new run to change anything else"
        )
    state = CheckpointState.read(run_dir)
    config_file = run_dir / CHECKPOINT_DIR / CONFIG_FILE
    if state is None or not config_file.is_file():
        raise ConfigError(
            f"resume={cfg.resume}: no checkpoint in {run_dir / CHECKPOINT_DIR}. "
            f"Only runs with trainer.checkpoint_every > 0 can be resumed"
        )
    try:
        saved = OmegaConf.merge(OmegaConf.structured(Config), upgraded(OmegaConf.to_container(OmegaConf.load(config_file))))  # typed again
    except Exception as exc:
        raise DamagedCheckpoint(config_file, f"{type(exc).__name__}: {str(exc).splitlines()[0]}") from None
    budget = "steps" if saved.trainer.steps is not None else "epochs"
    given = {o.split("=", 1)[0].lstrip("+~") for o in overrides} - {"resume"}
    if given - {f"trainer.{budget}"}:
        raise ConfigError(f"resume={cfg.resume}: the run's budget is trainer.{budget}={saved.trainer[budget]}; train it longer with trainer.{budget}=N")
    steps_before = saved.trainer.steps
    if given:
        saved.trainer[budget] = cfg.trainer[budget]
    longer = saved.trainer.steps > steps_before if budget == "steps" else state.epoch + 1 < saved.trainer.epochs
    if state.completed and not longer:
        raise ConfigError(
            f"resume={cfg.resume}: the run already FINISHED all {saved.trainer[budget]} {budget}, evaluated and exported. "
            f"Train it longer with trainer.{budget}=N (N > {saved.trainer[budget]}), or start a new run"
        )
    verify_files(state)
    if longer:  # evaluated and exported again after
        state = replace(state, test_metrics=None)
    return saved, state
