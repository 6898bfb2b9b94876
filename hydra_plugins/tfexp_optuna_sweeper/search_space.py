"""Hydra's sweep syntax as Optuna distributions (after hydra_optuna_sweeper's ``_impl.py``, MIT).

``choice(a, b)`` is categorical, ``range(1, 5)`` an integer (or stepped float) range,
``interval(0.0, 1.0)`` continuous, ``tag(log, interval(...))`` log-uniform; a plain value is
passed to every trial unchanged.
"""

from __future__ import annotations

from typing import Any

from hydra.core.override_parser.overrides_parser import OverridesParser
from hydra.core.override_parser.types import Override, Transformer


def distribution(override: Override) -> Any:
    """An Optuna distribution for a sweep override; the value string for a plain one."""
    from optuna.distributions import CategoricalDistribution, FloatDistribution, IntDistribution

    if not override.is_sweep_override():
        return override.get_value_element_as_str()
    value = override.value()
    if override.is_choice_sweep() or (override.is_range_sweep() and value.shuffle):
        return CategoricalDistribution(list(override.sweep_iterator(transformer=Transformer.encode)))
    if override.is_range_sweep():
        if any(isinstance(x, float) for x in (value.start, value.stop, value.step)):
            # Hydra's range excludes stop; Optuna's high is inclusive.
            return FloatDistribution(float(value.start), float(value.stop) - float(value.step), step=float(value.step))
        return IntDistribution(int(value.start), int(value.stop) - int(value.step), step=int(value.step))
    if override.is_interval_sweep():
        log = "log" in value.tags
        if isinstance(value.start, int) and isinstance(value.end, int):
            return IntDistribution(value.start, value.end, log=log)
        return FloatDistribution(value.start, value.end, log=log)
    raise ValueError(f"hydra.sweeper.params: {override.input_line} is not a search space Optuna can sample; use choice, range, interval or tag(log, interval(...))")


def parse(arguments: list[str]) -> tuple[dict[str, Any], list[str]]:
    """The search space (key -> distribution) and the overrides every trial gets as they are."""
    from optuna.distributions import BaseDistribution

    space, fixed = {}, []
    for override in OverridesParser.create().parse_overrides(arguments):
        value = None if override.is_delete() else distribution(override)
        if isinstance(value, BaseDistribution):
            space[override.get_key_element()] = value
        else:
            space.pop(override.get_key_element(), None)  # the command line fixes a searched key
            fixed.append(override.input_line)
    return space, fixed


def grid(space: dict[str, Any]) -> dict[str, list]:
    """The grid sampler's choices: categorical values and stepped ranges only."""
    from optuna.distributions import CategoricalDistribution

    choices = {}
    for key, dist in space.items():
        if isinstance(dist, CategoricalDistribution):
            choices[key] = list(dist.choices)
        elif getattr(dist, "step", None) and not getattr(dist, "log", False):
            n = int(round((dist.high - dist.low) / dist.step)) + 1
            choices[key] = [dist.low + i * dist.step for i in range(n)]
        else:
            raise ValueError(f"hydra.sweeper.params.{key}: the grid sampler needs choice(...) or range(...), not a continuous interval")
    return choices
