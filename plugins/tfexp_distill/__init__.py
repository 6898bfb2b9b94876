"""Built-in technique plugin: knowledge distillation (``technique=distill``, preset ``+experiment=distill``).

A teacher (trained in the run, or loaded from MLflow or a file) is distilled into the
run's ``model`` with Keras 3's ``keras.distillation``; see docs/distill.md.
"""

from tfexp import hookimpl
from tfexp.components import TechniqueSpec


def make_distill(cfg):
    from tfexp_distill.technique import Distill

    return Distill(cfg)


@hookimpl
def tfexp_register_techniques():
    return [TechniqueSpec("distill", make_distill, "teacher -> student knowledge distillation (technique.temperature, alpha, teacher, baseline)")]
