"""Keep the weights of the best epoch by one metric, and put them back after training.

Fed from ``tfexp_on_epoch_end``, not from a Keras callback: every technique's loop reports
its epochs through ``run.epoch_end`` (``model.fit`` through tfexp's callback, custom loops
directly), so the metric names are exactly those in the run's history and in MLflow
(``val_accuracy``, ``student/val_accuracy``, ``eval_return_mean``).
"""

from __future__ import annotations

import json
import math
from pathlib import Path

WEIGHTS = "model.weights.h5"
INFO = "info.json"


class BestCheckpoint:
    """Saves ``model``'s weights under ``directory`` whenever ``metric`` improves."""

    def __init__(self, directory: Path, metric: str, mode: str):
        self.directory, self.metric, self.mode = Path(directory), metric, mode
        self.best: dict | None = self._earlier_best()
        """``{"epoch", "metric", "value", "mode"}`` of the best epoch so far (``info.json``)."""

    def _earlier_best(self) -> dict | None:
        """A resumed run (same output directory) goes on from the best it had saved."""
        if not (self.directory / WEIGHTS).is_file() or not self.info_path.is_file():
            return None
        info = json.loads(self.info_path.read_text())
        return info if (info.get("metric"), info.get("mode")) == (self.metric, self.mode) else None

    @property
    def info_path(self) -> Path:
        return self.directory / INFO

    def improves(self, value: float) -> bool:
        if math.isnan(value):
            return False
        if self.best is None:
            return True
        return value > self.best["value"] if self.mode == "max" else value < self.best["value"]

    def observe(self, model, epoch: int, logs: dict[str, float]) -> bool:
        """Save ``model`` if this epoch is the best so far; True when it was saved."""
        value = logs.get(self.metric)
        if value is None or not self.improves(float(value)):
            return False
        self.directory.mkdir(parents=True, exist_ok=True)
        model.save_weights(self.directory / WEIGHTS)
        self.best = {"epoch": epoch, "metric": self.metric, "value": float(value), "mode": self.mode}
        self.info_path.write_text(json.dumps(self.best, indent=2) + "\n")
        return True

    def restore(self, model) -> bool:
        """Load the best weights into ``model``; False when no epoch reported the metric."""
        if self.best is None:
            return False
        model.load_weights(self.directory / WEIGHTS)
        return True

    def describe(self) -> str:
        b = self.best
        return f"best checkpoint: epoch {b['epoch']} (counted from 0) {b['metric']}={b['value']:.4f}, restored for evaluation and export"
