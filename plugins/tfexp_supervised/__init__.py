"""The supervised technique: the core's default path (compile, fit, evaluate) unchanged."""

from tfexp import hookimpl
from tfexp.components import TechniqueSpec


class Supervised:
    """Implements no hooks: the built-in defaults in ``tfexp.defaults`` are supervised training."""

    def __init__(self, cfg):
        self.cfg = cfg


@hookimpl
def tfexp_register_techniques():
    return [TechniqueSpec("supervised", Supervised, "compile, fit and evaluate on the test split")]
