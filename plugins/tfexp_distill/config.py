"""The ``technique`` keys of distill, typed and range-checked (no TensorFlow here)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Optional

from omegaconf import DictConfig

from tfexp.config import check_schema
from tfexp.errors import ConfigError


@dataclass
class DistillConfig:
    name: str = "distill"
    teacher: Any = None
    """Reuse this teacher (``runs:/``, ``models:/``, ``.keras`` file, SavedModel dir), or a list
    of them, distilled as one teacher whose logits are their mean; null trains one."""
    teacher_model: Any = None
    """The model config of a teacher trained here (a ``model`` group config: name + its keys)."""
    teacher_learning_rate: Optional[float] = None
    """Learning rate of a teacher trained here (null: ``trainer.learning_rate``, like the student)."""
    temperature: float = 4.0
    alpha: float = 0.5
    """Weight of the hard-label cross-entropy; ``1 - alpha`` weighs the soft-label term."""
    baseline: bool = False
    """Also train the student from scratch (same init, data order, budget) and log the gain."""
    cache_teacher_logits: bool = True
    """Run the teacher once per example and store its logits with the examples under the run's
    output directory (false: run it on every batch, e.g. when a plugin augments inputs randomly)."""
    reuse_teacher: bool = True
    """In a sweep, reuse the teacher an earlier trial trained with the same teacher config
    (:mod:`tfexp_distill.teacher_cache`); false: every run trains its own."""
    teacher_cache_dir: Optional[str] = None
    """Where trained teachers are kept for reuse; null: ``<hydra.sweep.dir>/teachers`` in a sweep,
    none for a single run (give a directory to reuse teachers across runs and sweeps)."""


def teacher_sources(teacher) -> list:
    """``technique.teacher`` as a list: one source, or an ensemble's."""
    return [teacher] if isinstance(teacher, str) else list(teacher)


def check_distill_config(node: DictConfig) -> DictConfig:
    """``node`` typed against :class:`DistillConfig`, or a :class:`ConfigError` naming the key."""
    cfg = check_schema(node, DistillConfig, "technique")
    if not cfg.temperature > 0:
        raise ConfigError(f"technique.temperature={cfg.temperature} is invalid: expected a number > 0 (try 2, 4 or 8).")
    if not 0 <= cfg.alpha <= 1:
        raise ConfigError(
            f"technique.alpha={cfg.alpha} is invalid: expected a weight between 0 and 1 "
            "(1 = plain cross-entropy, 0 = teacher's soft labels only)."
        )
    if cfg.teacher_learning_rate is not None and not cfg.teacher_learning_rate > 0:
        raise ConfigError(f"technique.teacher_learning_rate={cfg.teacher_learning_rate} is invalid: expected a number > 0, or null to use trainer.learning_rate.")
    if cfg.teacher is not None and not (teacher_sources(cfg.teacher) and all(isinstance(t, str) and t.strip() for t in teacher_sources(cfg.teacher))):
        raise ConfigError(f"technique.teacher={cfg.teacher} is empty: give runs:/<run_id>/model, models:/<name>/<version>, a .keras path, "
                          "a list of them ([runs:/<a>/teacher,runs:/<b>/teacher]: their logits are averaged), or null to train a teacher.")
    if cfg.teacher is None and not (isinstance(cfg.teacher_model, DictConfig) and isinstance(cfg.teacher_model.get("name"), str)):
        raise ConfigError(
            "technique.teacher_model needs a model config to train a teacher: choose one with "
            "model@technique.teacher_model=<model name>, or reuse a teacher with technique.teacher=<uri or path>."
        )
    return cfg
