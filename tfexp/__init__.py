"""tfexp: plugin-based, Hydra-configured experiments for TensorFlow/Keras.

Importing this package is cheap on purpose: TensorFlow and MLflow are imported only
when a run starts, so ``--help``, ``--cfg job`` and config errors stay fast.
"""

from importlib.metadata import PackageNotFoundError, version

import pluggy

try:
    __version__ = version("tfexp")
except PackageNotFoundError:  # running from a source tree that is not installed
    __version__ = "0.0.0+unknown"

PROJECT = "tfexp"
hookimpl = pluggy.HookimplMarker(PROJECT)

__all__ = ["PROJECT", "__version__", "hookimpl"]
