"""Output directories: one per run even for runs started in the same second (the
``${tfexp_uid:}`` suffix of ``hydra.run.dir``), and a Hydra callback that checks the directory
can be written, before Hydra fails there with a traceback (``hydra.run.dir=/read-only/...``)."""

from __future__ import annotations

import logging
import os
import secrets
import sys
from pathlib import Path
from typing import Any

from hydra.experimental.callback import Callback
from omegaconf import DictConfig, OmegaConf

log = logging.getLogger("tfexp")

RUN_UID = f"{os.getpid()}{secrets.token_hex(2)}"
"""This process's suffix: the pid keeps processes on one machine apart, the random part
processes on machines that share a file system. Fixed per process, so every resolution of
``hydra.run.dir`` gives the same directory."""


def register_uid_resolver() -> None:
    OmegaConf.register_new_resolver("tfexp_uid", lambda: RUN_UID, replace=True)


def write_problem(directory: str | Path) -> str | None:
    """Why ``directory`` cannot be created and written (None: it can); it is created."""
    try:
        Path(directory).expanduser().mkdir(parents=True, exist_ok=True)
        (Path(directory).expanduser() / ".tfexp-write-check").touch()
        (Path(directory).expanduser() / ".tfexp-write-check").unlink()
    except OSError as exc:
        return exc.strerror or str(exc)
    return None


def check_writable(directory: str, key: str) -> None:
    if problem := write_problem(directory):
        log.error("tfexp: error: cannot write the output directory %s (%s). Choose another with %s=<dir>", directory, problem, key)
        sys.exit(1)


class OutputDirCheck(Callback):
    def on_run_start(self, config: DictConfig, **kwargs: Any) -> None:
        check_writable(config.hydra.run.dir, "hydra.run.dir")

    def on_multirun_start(self, config: DictConfig, **kwargs: Any) -> None:
        check_writable(config.hydra.sweep.dir, "hydra.sweep.dir")
