"""A Hydra callback that checks the output directory can be written, before Hydra
fails there with a traceback (``hydra.run.dir=/read-only/...``)."""

from __future__ import annotations

import logging
import sys
from pathlib import Path
from typing import Any

from hydra.experimental.callback import Callback
from omegaconf import DictConfig

log = logging.getLogger("tfexp")


def check_writable(directory: str, key: str) -> None:
    try:
        Path(directory).mkdir(parents=True, exist_ok=True)
        (Path(directory) / ".tfexp-write-check").touch()
        (Path(directory) / ".tfexp-write-check").unlink()
    except OSError as exc:
        log.error("tfexp: error: cannot write the output directory %s (%s). Choose another with %s=<dir>", directory, exc.strerror, key)
        sys.exit(1)


class OutputDirCheck(Callback):
    def on_run_start(self, config: DictConfig, **kwargs: Any) -> None:
        check_writable(config.hydra.run.dir, "hydra.run.dir")

    def on_multirun_start(self, config: DictConfig, **kwargs: Any) -> None:
        check_writable(config.hydra.sweep.dir, "hydra.sweep.dir")
