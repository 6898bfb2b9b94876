"""Structured configs: types for every key tfexp itself reads, checked by Hydra/OmegaConf.

A wrong type fails at composition time naming the key (``trainer.epochs``) and the
expected type; :func:`validate` adds the range checks types cannot express. Nothing here
imports TensorFlow or MLflow.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass, field
from typing import Any, Iterable, Optional

from hydra.core.config_store import ConfigStore
from omegaconf import MISSING, DictConfig, OmegaConf
from omegaconf.errors import OmegaConfBaseException

from tfexp.data.pipeline import Pipeline
from tfexp.errors import ConfigError
from tfexp.output_dir import register_uid_resolver


@dataclass
class BestCheckpointConfig:
    metric: Optional[str] = None
    """Keep the best checkpoint by this epoch metric (e.g. ``val_accuracy``); null: off."""
    mode: str = "max"


@dataclass
class LRScheduleConfig:
    name: str = "constant"
    """constant | cosine (to ``min_lr``, after ``warmup_epochs``) | step (times ``decay_rate``
    every ``decay_epochs``) | exponential (the same, smoothly) | plateau (times
    ``decay_rate`` after ``patience`` epochs without a better ``monitor``)."""
    warmup_epochs: float = 0.0
    """cosine: rise linearly from 0 to ``trainer.learning_rate`` over this many epochs."""
    min_lr: float = 0.0
    """cosine: the rate it ends at; plateau: the lowest rate it reduces to."""
    decay_rate: float = 0.1
    decay_epochs: float = 10.0
    monitor: str = "val_loss"
    patience: int = 3


@dataclass
class EarlyStoppingConfig:
    monitor: Optional[str] = None
    """Stop a stage when this epoch metric (``val_loss``, ``val_accuracy``) stops improving; null: off."""
    patience: int = 5
    """Epochs without improvement before stopping."""
    min_delta: float = 0.0
    mode: str = "auto"
    """auto (max for accuracy-like names, else min) | min | max."""
    restore_best_weights: bool = True
    """Keep the best epoch's weights (and report its metrics as the sweep objective)."""


@dataclass
class TrainerConfig:
    epochs: int = 20
    batch_size: int = 64
    optimizer: str = "adam"
    learning_rate: float = 1e-3
    steps: Optional[int] = None
    """The budget in optimizer steps instead of ``epochs``: each stage trains the epochs these
    steps fill (rounded up), so one setting means the same on a small data set and a large one."""
    steps_per_epoch: Optional[int] = None
    """Limit each epoch to this many batches (``debug=fast`` uses it)."""
    verbose: int = 1
    """Keras verbosity: 1 progress bar, 2 one line per epoch, 0 silent."""
    best_checkpoint: BestCheckpointConfig = field(default_factory=BestCheckpointConfig)
    checkpoint_every: int = 1
    """Checkpoint model + optimizer every N epochs for ``resume=`` (0: never)."""
    nan_recovery: int = 0
    """On a NaN/inf loss, restore the last checkpoint, halve the learning rate and retry
    up to this many times (0: fail at once)."""
    lr_schedule: LRScheduleConfig = field(default_factory=LRScheduleConfig)
    early_stopping: EarlyStoppingConfig = field(default_factory=EarlyStoppingConfig)
    weight_decay: Optional[float] = None
    """Decoupled weight decay of the optimizer (null: the optimizer's own default; adamw's is 0.004)."""
    clipnorm: Optional[float] = None
    """Clip each gradient tensor to this norm (null: off)."""
    global_clipnorm: Optional[float] = None
    """Clip all gradients together to this global norm (null: off)."""
    clipvalue: Optional[float] = None
    """Clip every gradient element to [-value, value] (null: off)."""
    label_smoothing: float = 0.0
    """Multiclass cross-entropy: share of each target spread over all classes."""
    class_weight: Any = None
    """Multiclass: null, ``auto`` (balanced from the training split's label counts) or a
    list with one weight per class."""


@dataclass
class TrackingConfig:
    """Keys that mean the same for every tracker; a tracker's own keys live in its node
    (``tracking.mlflow.*``), declared and checked by its plugin."""

    mlflow: Any = field(default_factory=lambda: {"enabled": True})
    """The MLflow plugin's node: ``enabled`` and its own keys (plugins/tfexp_mlflow/config.py)."""
    tensorboard: bool = True
    csv: bool = False
    """Plain files per run in its output directory: ``metrics.csv``, ``hparams.yaml``, ``tags.yaml``."""
    uri: Optional[str] = None
    """MLflow tracking URI; default ``$MLFLOW_TRACKING_URI`` or ``sqlite:///<cwd>/mlflow.db``."""
    experiment_name: str = "tfexp"
    run_name: Optional[str] = None
    log_every_n_steps: int = 0
    """Also log training metrics every N optimizer steps (0: per epoch only)."""
    log_model: bool = True
    """Log the run's model to the trackers (and export it, docs/export.md)."""


@dataclass
class SweepConfig:
    objective: str = "val_accuracy"
    """The metric a sweep optimizes: a test metric (``test_accuracy``) or the last value
    of an epoch metric (``val_accuracy``). Presets set their technique's natural metric."""
    direction: str = "maximize"
    resume: bool = False
    """Grid sweeps: skip the jobs whose child run already FINISHED in the last sweep run
    with the same overrides (Optuna sweeps always resume their study)."""
    trial: Optional[int] = None
    """Set by tfexp's Optuna sweeper: the Optuna trial number this job runs."""
    objectives: list[str] = field(default_factory=list)
    """Multi-objective Optuna sweeps (sampler nsga2 or tpe): metrics optimized together, e.g.
    ``[val_accuracy, model.params]``, one direction each in ``directions``. Not prunable."""
    directions: list[str] = field(default_factory=list)


@dataclass
class ComponentConfig:
    name: str = MISSING


@dataclass
class MLPConfig(ComponentConfig):
    hidden_units: list[int] = field(default_factory=lambda: [256, 128])
    activation: str = "relu"
    dropout: float = 0.1


@dataclass
class CNNConfig(ComponentConfig):
    filters: list[int] = field(default_factory=lambda: [32, 64])
    kernel_size: int = 3
    dense_units: int = 128
    dropout: float = 0.2


@dataclass
class AutoModelConfig(ComponentConfig):
    """``model=auto``: one model config per kind of input (tfexp.data.spec.input_kind), each
    with its own ``name`` (cnn or mlp); tfexp/conf/model/auto.yaml fills them in."""

    image: Any = MISSING
    sequence: Any = MISSING
    tabular: Any = MISSING


@dataclass
class SplitConfig(ComponentConfig):
    val_fraction: float = 0.15
    test_fraction: float = 0.2


@dataclass
class DigitsConfig(SplitConfig):
    image_shape: bool = True
    """Return 8x8x1 images (True) or flat 64-vectors (False)."""


@dataclass
class SyntheticConfig(SplitConfig):
    n_samples: int = 2000
    n_features: int = 20
    n_informative: int = 10
    n_classes: int = 4
    class_sep: float = 1.0


@dataclass
class Config:
    model: Any = MISSING
    data: Any = MISSING
    strategy: Any = MISSING
    technique: Any = MISSING
    tracking: TrackingConfig = field(default_factory=TrackingConfig)
    trainer: TrainerConfig = field(default_factory=TrainerConfig)
    sweep: SweepConfig = field(default_factory=SweepConfig)
    pipeline: Pipeline = field(default_factory=Pipeline)
    export: Any = MISSING
    seed: int = 42
    resume: Optional[str] = None
    """A run's output directory or MLflow run id: continue it from its last checkpoint."""
    debug: Any = None


def register_configs() -> None:
    """Put the schemas where the YAML files in ``tfexp/conf`` find them, and the resolver
    of ``hydra.run.dir``."""
    register_uid_resolver()
    cs = ConfigStore.instance()
    cs.store(name="tfexp_schema", node=Config)
    for group, name, node in [
        ("model", "mlp", MLPConfig),
        ("model", "cnn", CNNConfig),
        ("model", "auto", AutoModelConfig),
        ("data", "digits", DigitsConfig),
        ("data", "synthetic", SyntheticConfig),
        ("data", "breast_cancer", SplitConfig),
    ]:
        cs.store(group=f"schema/{group}", name=name, node=node)


def apply_debug(cfg: DictConfig) -> DictConfig:
    """Merge the ``debug`` node onto the root, last.

    Hydra applies ``+experiment=X`` after every group in the defaults list, so a global
    ``debug`` package would lose to the preset; merging it here keeps
    ``+experiment=X debug=fast`` fast. Tune it with ``debug.trainer.epochs=2``.
    """
    if not cfg.get("debug"):
        return cfg
    try:
        return OmegaConf.merge(cfg, cfg.debug)
    except OmegaConfBaseException as exc:
        raise ConfigError(f"debug settings do not fit the config: {exc}".replace("\n", "; ")) from exc


def check_schema(node: DictConfig, schema: type, key: str) -> DictConfig:
    """A plugin's config node checked against its dataclass ``schema``.

    Returns the node typed and with the schema's defaults filled in; a wrong type or an
    unknown key raises :class:`ConfigError` naming ``<key>.<field>`` and the problem.
    Plugins call this from ``tfexp_configure`` for their own groups."""
    try:
        return OmegaConf.merge(OmegaConf.structured(schema), node)
    except OmegaConfBaseException as exc:
        where = f"{key}.{exc.full_key}" if getattr(exc, "full_key", None) else key
        reason = str(exc).splitlines()[0]
        raise ConfigError(f"{where}: {reason}. Expected the fields of {schema.__name__}: {', '.join(schema.__dataclass_fields__)}.") from exc


def _check(ok: bool, key: str, expected: str, value: Any) -> None:
    if not ok:
        raise ConfigError(f"{key}={value!r} is invalid: expected {expected}. Fix it on the command line ({key}=...) or in your config.")


def validate(cfg: DictConfig) -> None:
    """Range checks for core keys; plugins check their own keys in ``tfexp_configure``."""
    t = cfg.trainer
    _check(t.epochs >= 1, "trainer.epochs", "an integer >= 1", t.epochs)
    _check(t.batch_size >= 1, "trainer.batch_size", "an integer >= 1", t.batch_size)
    _check(t.learning_rate > 0, "trainer.learning_rate", "a number > 0", t.learning_rate)
    _check(t.steps is None or t.steps >= 1, "trainer.steps", "null or an integer >= 1", t.steps)
    _check(t.steps_per_epoch is None or t.steps_per_epoch >= 1, "trainer.steps_per_epoch", "null or an integer >= 1", t.steps_per_epoch)
    _check(t.verbose in (0, 1, 2), "trainer.verbose", "0, 1 or 2", t.verbose)
    _check(cfg.sweep.direction in ("maximize", "minimize"), "sweep.direction", "maximize or minimize", cfg.sweep.direction)
    s = cfg.sweep
    _check(len(s.directions) == len(s.objectives) and set(s.directions) <= {"maximize", "minimize"}, "sweep.directions", "maximize or minimize for each of sweep.objectives", list(s.directions))
    _check(t.checkpoint_every >= 0, "trainer.checkpoint_every", "an integer >= 0", t.checkpoint_every)
    _check(t.nan_recovery >= 0, "trainer.nan_recovery", "an integer >= 0", t.nan_recovery)
    _check(not (t.nan_recovery and not t.checkpoint_every), "trainer.nan_recovery", "0 when trainer.checkpoint_every=0 (recovery restores a checkpoint)", t.nan_recovery)
    _validate_trainer_options(t)
    p = cfg.pipeline
    _check(p.shuffle_buffer >= 1, "pipeline.shuffle_buffer", "an integer >= 1", p.shuffle_buffer)
    for key in ("interleave", "prefetch"):
        _check(p[key] is None or p[key] >= 1, f"pipeline.{key}", "null (AUTOTUNE) or an integer >= 1", p[key])
    _check(cfg.tracking.log_every_n_steps >= 0, "tracking.log_every_n_steps", "an integer >= 0", cfg.tracking.log_every_n_steps)
    for group in ("model", "data", "strategy", "technique"):
        node = cfg.get(group)
        _check(isinstance(node, DictConfig) and isinstance(node.get("name"), str), f"{group}.name", "a component name (a string)", node)
    _check(0 <= cfg.seed < 2**32, "seed", "an integer in [0, 2**32)", cfg.seed)
    name = cfg.tracking.experiment_name
    _check(bool(name and name.strip()) and len(name) <= 500, "tracking.experiment_name", "a non-empty name of at most 500 characters", name)
    _validate_model(cfg.model)
    _validate_data(cfg.data)


def _validate_model(model: DictConfig, path: str = "model") -> None:
    """The layer keys of the built-in models (and any model that uses the same names), also
    of the models a model is made of (``model=auto``'s ``model.tabular``...)."""
    for key in ("hidden_units", "filters"):
        if key in model:
            _check(OmegaConf.is_list(model[key]) and all(isinstance(u, int) and u >= 1 for u in model[key]), f"{path}.{key}", "a list of integers >= 1", model[key])
    for key in ("dense_units", "kernel_size"):
        if key in model:
            _check(model[key] >= 1, f"{path}.{key}", "an integer >= 1", model[key])
    if "dropout" in model:
        _check(0 <= model.dropout < 1, f"{path}.dropout", "a rate in [0, 1)", model.dropout)
    for key, node in model.items():
        if OmegaConf.is_dict(node) and "name" in node:
            _validate_model(node, f"{path}.{key}")


def _validate_data(data: DictConfig) -> None:
    """Split fractions, and a generated set big enough for a stratified train/val/test split."""
    for key in ("val_fraction", "test_fraction"):
        if key in data:
            _check(0 < data[key] < 1, f"data.{key}", "a fraction between 0 and 1", data[key])
    if "val_fraction" in data and "test_fraction" in data:
        _check(data.val_fraction + data.test_fraction < 1, "data.val_fraction", f"a fraction below 1 - data.test_fraction ({1 - data.test_fraction:g}): the rest is the training split", data.val_fraction)
    if {"n_samples", "n_classes", "val_fraction", "test_fraction"} <= set(data):
        _check(data.n_classes >= 2, "data.n_classes", "an integer >= 2", data.n_classes)
        smallest = next(n for n in itertools.count(data.n_samples) if _split_fits(n, data))
        _check(smallest == data.n_samples, "data.n_samples", f"at least {smallest}: each of the train, val and test splits needs data.n_classes={data.n_classes} examples", data.n_samples)
    if {"n_features", "n_informative", "n_classes"} <= set(data):
        _check(1 <= data.n_informative <= data.n_features, "data.n_informative", f"an integer from 1 to data.n_features ({data.n_features})", data.n_informative)
        _check(data.n_classes * 2 <= 2**data.n_informative, "data.n_classes", f"at most 2**data.n_informative / 2 = {2 ** data.n_informative // 2} (two clusters per class)", data.n_classes)


def _split_fits(n: int, data: DictConfig) -> bool:
    """Whether ``n`` examples split (as scikit-learn rounds) leave every split ``n_classes`` examples."""
    test = math.ceil(n * data.test_fraction)
    val = math.ceil((n - test) * data.val_fraction / (1 - data.test_fraction))
    return min(test, val, n - test - val) >= data.n_classes


def _validate_trainer_options(t: DictConfig) -> None:
    s, e = t.lr_schedule, t.early_stopping
    _check(s.name in ("constant", "cosine", "step", "exponential", "plateau"), "trainer.lr_schedule.name", "one of constant, cosine, step, exponential, plateau", s.name)
    _check(0 <= s.warmup_epochs < t.epochs, "trainer.lr_schedule.warmup_epochs", f"a number >= 0 and below trainer.epochs ({t.epochs})", s.warmup_epochs)
    _check(not s.warmup_epochs or s.name == "cosine", "trainer.lr_schedule.warmup_epochs", "0 unless trainer.lr_schedule.name=cosine", s.warmup_epochs)
    _check(0 <= s.min_lr < t.learning_rate, "trainer.lr_schedule.min_lr", f"a number >= 0 and below trainer.learning_rate ({t.learning_rate})", s.min_lr)
    _check(0 < s.decay_rate < 1, "trainer.lr_schedule.decay_rate", "a factor between 0 and 1", s.decay_rate)
    _check(s.decay_epochs > 0, "trainer.lr_schedule.decay_epochs", "a number of epochs > 0", s.decay_epochs)
    _check(s.patience >= 1, "trainer.lr_schedule.patience", "an integer >= 1", s.patience)
    _check(e.patience >= 1, "trainer.early_stopping.patience", "an integer >= 1", e.patience)
    _check(e.min_delta >= 0, "trainer.early_stopping.min_delta", "a number >= 0", e.min_delta)
    _check(e.mode in ("auto", "min", "max"), "trainer.early_stopping.mode", "auto, min or max", e.mode)
    for key in ("weight_decay", "clipnorm", "global_clipnorm", "clipvalue"):
        _check(t[key] is None or t[key] > 0 or (key == "weight_decay" and t[key] == 0), f"trainer.{key}", "null or a number > 0", t[key])
    clipping = [key for key in ("clipnorm", "global_clipnorm", "clipvalue") if t[key] is not None]
    if len(clipping) > 1:
        raise ConfigError(f"{' and '.join(f'trainer.{k}={t[k]}' for k in clipping)} are all set: Keras clips gradients one way; keep one of them")
    _check(0 <= t.label_smoothing < 1, "trainer.label_smoothing", "a number in [0, 1)", t.label_smoothing)
    w = t.class_weight
    _check(w is None or w == "auto" or (OmegaConf.is_list(w) and all(isinstance(x, (int, float)) and x >= 0 for x in w)),
           "trainer.class_weight", "null, auto, or a list of weights >= 0 (one per class)", w if not OmegaConf.is_config(w) else OmegaConf.to_container(w))


def compose(overrides: Iterable[str] = (), with_hydra: bool = False) -> DictConfig:
    """tfexp's config as ``python -m tfexp`` composes it from these command-line
    ``overrides`` (no run, no output directory); ``with_hydra`` keeps the ``hydra`` node."""
    from hydra import compose as hydra_compose
    from hydra import initialize_config_module

    from tfexp.cli_args import hydra_overrides

    register_configs()
    with initialize_config_module(config_module="tfexp.conf", version_base="1.3"):
        return hydra_compose(config_name="config", overrides=hydra_overrides(list(overrides)), return_hydra_config=with_hydra)
