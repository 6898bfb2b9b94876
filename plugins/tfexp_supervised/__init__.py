"""The supervised technique: the core's default path (compile, fit, evaluate) unchanged."""

from tfexp import hookimpl
from tfexp.components import TechniqueSpec
from tfexp.errors import TfexpError


class Supervised:
    """The built-in defaults in ``tfexp.defaults`` are supervised training; this only
    refuses multi-label data, whose metrics the defaults do not report."""

    def __init__(self, cfg):
        self.cfg = cfg

    @hookimpl
    def tfexp_before_compile(self, run, model, compile_kwargs):
        if run.data.spec.task == "multilabel":
            raise TfexpError(
                f"data={run.cfg.data.name} is multi-label, but the supervised technique reports single-label metrics. "
                f"Use technique=multilabel (or +experiment=multilabel; see docs/multilabel.md)."
            )


@hookimpl
def tfexp_register_techniques():
    return [TechniqueSpec("supervised", Supervised, "compile, fit and evaluate on the test split")]
