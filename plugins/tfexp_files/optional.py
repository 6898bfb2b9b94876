"""Optional dependencies of the file sources (the ``files`` extra), imported on first use."""

from __future__ import annotations

from importlib import import_module
from types import ModuleType

from tfexp.errors import ConfigError


def require(module: str, source: str) -> ModuleType:
    """``module``, or one line that names the data set that needs it and how to install it."""
    try:
        return import_module(module)
    except ImportError as exc:
        raise ConfigError(f'data={source} needs {module.split(".")[0]}, which is not installed ({exc}): pip install "tfexp[files]"') from exc
