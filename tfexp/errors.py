"""Errors meant for the user: one line that names the problem and the way out.

The CLI prints a ``TfexpError`` without a traceback (the full one still goes to the
run's log file and, when a run has started, to MLflow as an artifact).
"""


class TfexpError(Exception):
    """A problem the user can fix; the message says how."""


class ConfigError(TfexpError):
    """A config value has the wrong type or is out of range."""


class UnknownComponentError(TfexpError):
    """A model/dataset/strategy/technique name that no plugin registered."""


class ComponentConflictError(TfexpError):
    """Two plugins registered the same component name."""


class PluginLoadError(TfexpError):
    """An installed plugin could not be imported or declares an unknown hook."""
