"""``python -m tfexp``: the Hydra entry point.

Only Hydra, OmegaConf and tfexp's config module are imported here; TensorFlow and
MLflow are imported when a run actually starts, so ``--help``/``--cfg`` stay fast.
"""

from __future__ import annotations

import logging
import sys

import hydra
import yaml
from hydra.core.hydra_config import HydraConfig
from hydra.types import RunMode
from omegaconf import DictConfig

from tfexp.config import register_configs
from tfexp.checkpoint import CheckpointState, Preempted
from tfexp.errors import TfexpError
from tfexp.pruning import TrialPruned
from tfexp.quiet import quiet_libraries
from tfexp.sweep import finished_job, job_result, record_run

log = logging.getLogger("tfexp")
register_configs()


@hydra.main(version_base="1.3", config_path="conf", config_name="config")
def main(cfg: DictConfig) -> float:
    """Returns ``sweep.objective`` (or the ``sweep.objectives``) so Hydra sweepers (Optuna)
    can optimize it."""
    quiet_libraries()  # again in this job's process (joblib, Ray): before TensorFlow loads
    from tfexp.runner import run_experiment

    hydra_cfg = HydraConfig.get()
    if done := finished_job(hydra_cfg.overrides.task):  # sweep.resume=true: this job FINISHED before
        log.info("tfexp: skipped, FINISHED before (%s=%s)", done.objective, done.value)
        return done.value
    try:
        run = run_experiment(cfg, hydra_cfg.runtime.output_dir, overrides=list(hydra_cfg.overrides.task))
        record_run(run)
        return job_result(run)
    except KeyboardInterrupt as exc:  # Ctrl-C, or SIGTERM (Preempted): the run is KILLED, resumable
        run_dir = cfg.get("resume") or hydra_cfg.runtime.output_dir
        if CheckpointState.read(run_dir) is None and not cfg.get("resume"):
            why = "trainer.checkpoint_every=0" if not cfg.trainer.checkpoint_every else f"technique={cfg.technique.name}"
            when = "" if not cfg.trainer.checkpoint_every else " before it stopped"
            log.error("tfexp: stopped (%s); not resumable: %s kept no checkpoint%s. The run is KILLED: start it again", type(exc).__name__, why, when)
        else:
            log.error("tfexp: stopped (%s). Continue with: python -m tfexp resume=%s", type(exc).__name__, run_dir)
        sys.exit(143 if isinstance(exc, Preempted) else 130)
    except TrialPruned as exc:  # the Optuna sweeper's pruner: Hydra hands it back to the sweeper
        log.info("tfexp: %s", exc)
        raise
    except Exception as exc:
        # One line on the console; the traceback goes to the run's log file (and MLflow).
        message = str(exc) if isinstance(exc, TfexpError) else f"{type(exc).__name__}: {exc}"
        message = " ".join([message, *(f"({note})" for note in getattr(exc, "__notes__", ()))])
        log_file = f"{hydra_cfg.runtime.output_dir}/{hydra_cfg.job.name}.log"
        log.error("tfexp: error: %s\n  (full traceback in %s)", message, log_file, exc_info=True)
        record_run(error=message)
        if hydra_cfg.mode == RunMode.MULTIRUN:
            return float("nan")  # the sweep goes on; its summary marks this job FAILED
        sys.exit(1)


def cli() -> None:
    from tfexp.cli_args import hydra_overrides

    sys.argv[1:] = hydra_overrides(sys.argv[1:])  # data.features.x=float32[64] as written
    quiet_libraries()
    if {"--help", "-h"} & set(sys.argv[1:]):
        help_without_schemas()
        return
    check_config_dirs(sys.argv[1:])
    try:
        main()
    except SystemExit as exc:  # Hydra's config errors exit 1 after printing their message
        from tfexp.suggest import did_you_mean

        if exc.code == 1 and (hints := did_you_mean(sys.argv[1:])):
            print("\n".join(hints), file=sys.stderr)
        raise


def check_config_dirs(args: list[str]) -> None:
    """Read every YAML file under ``--config-dir``/``-cd`` first: Hydra would print a
    90-line traceback for one that does not parse; this prints one line naming its place."""
    from pathlib import Path

    from omegaconf import OmegaConf

    dirs = [b for a, b in zip(args, args[1:]) if a in ("--config-dir", "-cd")] + [a.split("=", 1)[1] for a in args if a.startswith("--config-dir=")]
    for path in sorted(p for d in dirs for p in Path(d).rglob("*.y*ml")):
        try:
            OmegaConf.load(path)
        except yaml.YAMLError as exc:
            mark = getattr(exc, "problem_mark", None)
            where = f"{path} line {mark.line + 1}, column {mark.column + 1}" if mark else str(path)
            problem = getattr(exc, "problem", None) or str(exc)
            problem += f" ({exc.context})" if getattr(exc, "context", None) else ""
            log.error("tfexp: error: %s is not valid YAML: %s. Fix it there (YAML indents with spaces, never tabs)", where, problem)
            sys.exit(1)


def help_without_schemas() -> None:
    """Hydra's ``--help`` (our template in conf/config.yaml) without the ``schema/*``
    groups: they hold the typed defaults the YAML files extend, not options to pick."""
    import contextlib
    import io

    text = io.StringIO()
    try:
        with contextlib.redirect_stdout(text):
            main()
    finally:  # Hydra exits after printing the help
        print("".join(line for line in text.getvalue().splitlines(keepends=True) if not line.startswith("schema/")), end="")


if __name__ == "__main__":
    cli()
