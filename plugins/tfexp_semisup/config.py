"""The ``technique`` keys of ``semisup``: types (checked by OmegaConf) and ranges.

No TensorFlow here: a wrong value must fail in a second, before any run is opened.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Optional

from omegaconf import DictConfig

from tfexp.config import check_schema
from tfexp.errors import ConfigError

METHODS = ("pseudo_label", "fixmatch", "autoencoder")


@dataclass
class AugmentConfig:
    """FixMatch's two views: geometric for images, shifts and scaling for sequences, feature
    swap for tabular inputs; every input gets noise."""

    kind: str = "auto"
    """auto (by input rank: (H, W, C) image, (length, channels) sequence, (features,) tabular)
    | image | sequence | tabular (``sequence`` for a signal read as a flat row of a CSV)."""
    weak_shift: float = 0.125
    """Images: largest random translation of the weak view, as a fraction of height/width;
    sequences: largest circular shift, as a fraction of the length."""
    strong_shift: float = 0.25
    strong_rotation: float = 0.05
    """Images: largest rotation of the strong view, as a fraction of a full turn."""
    strong_zoom: float = 0.2
    """Images: zoom of the strong view; sequences: its amplitude scaling (1 +- this)."""
    weak_noise: float = 0.05
    """Standard deviation of Gaussian noise added to the weak view."""
    strong_noise: float = 0.1
    feature_drop: float = 0.2
    """Images: share of pixels the strong view sets to zero; sequences: the length of the
    window it zeroes, as a fraction of the length."""
    feature_swap: float = 0.3
    """Tabular: share of a row's features the strong view takes from other rows of the batch."""


@dataclass
class SemisupConfig:
    name: str = "semisup"
    method: str = "pseudo_label"
    """pseudo_label, fixmatch or autoencoder."""
    labeled_fraction: float = 0.1
    """Share of the training split that keeps its labels (chosen per example by a seeded
    hash: each class alike in expectation, at least one each)."""
    labels_per_class: Optional[int] = None
    """Keep exactly this many labels per class instead (overrides labeled_fraction)."""
    threshold: float = 0.95
    """Confidence a prediction needs to become a pseudo-label (pseudo_label, fixmatch)."""
    rounds: int = 3
    """pseudo_label: label-and-retrain rounds after the supervised start."""
    curriculum: Optional[float] = None
    """pseudo_label: instead of ``threshold``, accept in round r of R the most confident
    ``curriculum * r / R`` of the pool examples predicted as each class (null: the threshold)."""
    precision: Optional[float] = None
    """pseudo_label, fixmatch: per class, raise the threshold (or the curriculum's) until the
    model's predictions of that class on the validation split that pass it are right at least
    this share of the time (over at least 10 of them); a class where none is gets no
    pseudo-labels, so a model too weak to label the pool stops training on its mistakes.
    Checked every round (pseudo_label) or epoch (fixmatch). null: the threshold alone."""
    lambda_u: float = 1.0
    """fixmatch: weight of the unlabeled consistency loss."""
    mu: int = 7
    """fixmatch: unlabeled examples per labeled example in a batch."""
    distribution_alignment: bool = True
    """fixmatch: align the weak view's probabilities to the labeled class marginal before the
    threshold (ReMixMatch), so the pseudo-labels cannot collapse onto one class."""
    diagnostic_examples: Optional[int] = 4096
    """fixmatch: pool examples the per-epoch ``pseudo/*`` diagnostics predict (null: the whole pool)."""
    pretrain_epochs: Optional[int] = None
    """autoencoder: reconstruction epochs over all training inputs (null: trainer.epochs)."""
    decoder_units: int = 256
    denoise: float = 0.2
    """autoencoder: share of input features zeroed before encoding (0: plain autoencoder)."""
    reconstructions: int = 8
    """autoencoder: validation images drawn in plots/reconstructions.png (image data only)."""
    baseline: bool = False
    """Also train supervised-only on the same labels and report the difference."""
    augment: AugmentConfig = field(default_factory=AugmentConfig)


def _check(ok: bool, key: str, expected: str, value) -> None:
    if not ok:
        raise ConfigError(f"technique.{key}={value!r} is invalid: expected {expected}. Set it with technique.{key}=...")


def checked_config(node: DictConfig) -> DictConfig:
    """The technique node typed, with defaults filled in, and every range checked."""
    cfg = check_schema(node, SemisupConfig, "technique")
    _check(cfg.method in METHODS, "method", " or ".join(METHODS), cfg.method)
    _check(0 < cfg.labeled_fraction < 1, "labeled_fraction", "a fraction between 0 and 1", cfg.labeled_fraction)
    _check(cfg.labels_per_class is None or cfg.labels_per_class >= 1, "labels_per_class", "null or an integer >= 1", cfg.labels_per_class)
    _check(0 <= cfg.threshold <= 1, "threshold", "a confidence between 0 and 1", cfg.threshold)
    _check(cfg.rounds >= 1, "rounds", "an integer >= 1", cfg.rounds)
    _check(cfg.curriculum is None or 0 < cfg.curriculum <= 1, "curriculum", "null or a share in (0, 1]", cfg.curriculum)
    _check(cfg.precision is None or 0 < cfg.precision <= 1, "precision", "null or a share in (0, 1]", cfg.precision)
    _check(cfg.lambda_u >= 0, "lambda_u", "a weight >= 0", cfg.lambda_u)
    _check(cfg.mu >= 1, "mu", "an integer >= 1", cfg.mu)
    _check(cfg.diagnostic_examples is None or cfg.diagnostic_examples >= 1, "diagnostic_examples", "null or an integer >= 1", cfg.diagnostic_examples)
    _check(cfg.pretrain_epochs is None or cfg.pretrain_epochs >= 1, "pretrain_epochs", "null or an integer >= 1", cfg.pretrain_epochs)
    _check(cfg.decoder_units >= 1, "decoder_units", "an integer >= 1", cfg.decoder_units)
    _check(0 <= cfg.denoise < 1, "denoise", "a fraction in [0, 1)", cfg.denoise)
    _check(cfg.reconstructions >= 0, "reconstructions", "an integer >= 0", cfg.reconstructions)
    for key in ("weak_shift", "strong_shift", "strong_rotation", "strong_zoom", "weak_noise", "strong_noise"):
        _check(cfg.augment[key] >= 0, f"augment.{key}", "a number >= 0", cfg.augment[key])
    for key in ("feature_drop", "feature_swap"):
        _check(0 <= cfg.augment[key] < 1, f"augment.{key}", "a fraction in [0, 1)", cfg.augment[key])
    _check(cfg.augment.kind in ("auto", "image", "sequence", "tabular"), "augment.kind", "auto, image, sequence or tabular", cfg.augment.kind)
    return cfg
