"""One run's plain files, Lightning's CSVLogger layout in the run's output directory:
``metrics.csv`` (a row per step: ``step``, ``epoch``, a column per metric), ``hparams.yaml``
(the params) and ``tags.yaml``.

Rows are keyed by step, so a value logged again after a restored checkpoint (``resume=``,
NaN recovery) replaces the one it repeats, and a resumed run continues the file it left.
"""

from __future__ import annotations

import csv
import os
from pathlib import Path
from typing import Any

import yaml

METRICS, HPARAMS, TAGS = "metrics.csv", "hparams.yaml", "tags.yaml"


class CsvRun:
    def __init__(self, directory: Path, epoch: int = 0):
        self.directory = directory
        self.epoch = epoch
        """The epoch in progress: the ``epoch`` column of what is logged now."""
        self.rows: dict[int, dict[str, Any]] = {}
        self.params: dict[str, Any] = {}
        self.tags: dict[str, str] = {}
        self._read_back()

    def _read_back(self) -> None:
        """What a resumed run already wrote."""
        if (path := self.directory / METRICS).is_file():
            with path.open(newline="") as file:
                for row in csv.DictReader(file):
                    values = {k: float(v) for k, v in row.items() if k not in ("step", "epoch") and v != ""}
                    self.rows[int(row["step"])] = {"step": int(row["step"]), "epoch": int(row["epoch"]), **values}
        for name, attribute in ((HPARAMS, "params"), (TAGS, "tags")):
            if (path := self.directory / name).is_file():
                setattr(self, attribute, yaml.safe_load(path.read_text()) or {})

    def log_metrics(self, metrics: dict[str, float], step: int) -> None:
        self.rows.setdefault(step, {"step": step, "epoch": self.epoch}).update(metrics)

    def log_params(self, params: dict[str, Any]) -> None:
        self.params.update(params)
        self._write_yaml(HPARAMS, self.params)

    def set_tags(self, tags: dict[str, str]) -> None:
        self.tags.update(tags)
        self._write_yaml(TAGS, self.tags)

    def write_metrics(self) -> Path:
        columns = list(dict.fromkeys(key for row in self.rows.values() for key in row))
        return self._replace(METRICS, lambda file: _write_rows(file, columns, self.rows.values()))

    def _write_yaml(self, name: str, content: dict) -> None:
        self._replace(name, lambda file: yaml.safe_dump(content, file, sort_keys=False))

    def _replace(self, name: str, write) -> Path:
        """Write ``name`` whole, then swap it in: a reader never sees half a file."""
        self.directory.mkdir(parents=True, exist_ok=True)
        path, tmp = self.directory / name, self.directory / f".{name}.tmp"
        with tmp.open("w", newline="") as file:
            write(file)
        os.replace(tmp, path)
        return path


def _write_rows(file, columns: list[str], rows) -> None:
    writer = csv.DictWriter(file, fieldnames=columns)
    writer.writeheader()
    writer.writerows(rows)
