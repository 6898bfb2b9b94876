"""``schema.json``: what ``python -m tfexp.data convert`` knows about the TFRecords it
wrote, so that a run reads them with no other setting (``data=tfrecord data.schema=...``).

File names are relative to the schema file: the directory can be moved or copied whole.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from tfexp.data.spec import Affine
from tfexp.errors import ConfigError

FORMAT = "tfexp.tfrecord/1"


@dataclass
class Schema:
    features: dict[str, str]
    """Feature name -> type (``float32[8,8,1]``)."""
    label: str
    task: str
    num_classes: int | None = None
    class_names: list[str] = field(default_factory=list)
    input_shape: list[int] = field(default_factory=list)
    preprocessing: dict[str, Any] | None = None
    """``{"scale": ..., "offset": ...}`` (numbers or nested lists): raw inputs are stored,
    the model sees ``raw * scale + offset``."""
    compression: str | None = None
    splits: dict[str, dict[str, Any]] = field(default_factory=dict)
    """Split -> ``{"count": records, "files": [names relative to the schema file]}``."""
    source: str = ""
    format: str = FORMAT

    def affine(self) -> Affine | None:
        if self.preprocessing is None:
            return None
        return Affine(*(np.asarray(self.preprocessing[k], "float32") for k in ("scale", "offset")))

    @staticmethod
    def affine_json(affine: Affine | None) -> dict[str, Any] | None:
        return None if affine is None else {k: np.asarray(getattr(affine, k)).tolist() for k in ("scale", "offset")}

    def write(self, path: Path) -> None:
        path.write_text(json.dumps(asdict(self), indent=1) + "\n")

    @classmethod
    def read(cls, path: str | Path, key: str = "data.schema") -> Schema:
        try:
            fields = json.loads(Path(path).expanduser().read_text())
        except FileNotFoundError:
            raise ConfigError(f"{key}={path}: no such file (relative to {Path.cwd()}); write one with python -m tfexp.data convert") from None
        except (OSError, ValueError) as exc:
            raise ConfigError(f"{key}={path} is not a readable JSON schema: {exc}") from None
        if not isinstance(fields, dict) or fields.get("format") != FORMAT:
            raise ConfigError(f"{key}={path} is not a tfexp TFRecord schema (format {FORMAT!r}); write one with python -m tfexp.data convert")
        try:
            return cls(**fields)
        except TypeError as exc:
            raise ConfigError(f"{key}={path}: {exc}") from None
