"""``data=tfrecord``: the TFRecord source built from config, a ``schema.json``, or both
(config keys override the schema's)."""

from __future__ import annotations

import dataclasses
import logging
from pathlib import Path

from tfexp.data import Affine, DataSpec
from tfexp.data.spec import SPLITS
from tfexp.data.tfrecord import FeatureType, TFRecordData, input_shape
from tfexp.data.tfrecord_schema import Schema
from tfexp.errors import ConfigError
from tfexp_files.tfrecord_config import check

log = logging.getLogger("tfexp.data")

DEFAULT_LABEL_TYPES = {"multiclass": "int64[]", "regression": "float32[]"}


def load(node, seed: int) -> TFRecordData:
    cfg = check(node)
    schema = Schema.read(cfg.schema) if cfg.schema else None
    label = cfg.label or (schema.label if schema else None)
    if not label:
        raise ConfigError("data.label is not set: name the feature that holds the target, e.g. data.label=y")
    task = cfg.task or (schema.task if schema else "multiclass")
    names = list(cfg.class_names) or (schema.class_names if schema else [])
    num_classes = cfg.num_classes or (schema.num_classes if schema else None) or len(names) or None
    texts = {**(schema.features if schema else {}), **cfg.features}
    if label not in texts:
        if task == "multilabel" and num_classes:
            texts[label] = f"int64[{num_classes}]"
        elif task in DEFAULT_LABEL_TYPES:
            texts[label] = DEFAULT_LABEL_TYPES[task]
        else:
            raise ConfigError(f"data.label={label}: declare its type (data.features.{label}='int64[5]') or data.num_classes")
    types = {name: FeatureType.parse(text, f"data.features.{name}") for name, text in texts.items()}
    patterns, sizes = _files(cfg, schema)
    spec = DataSpec(
        task=task, input_shape=input_shape(types, [n for n in types if n != label]),
        num_outputs=_outputs(task, types[label], label, num_classes, names),
        class_names=tuple(names or (range_names(num_classes) if task == "multiclass" else ())),
        preprocessing=schema.affine() if schema else None, num_examples=sizes,
    )
    data = TFRecordData(spec, patterns, types, label, cfg.compression or (schema.compression if schema else None))
    for split in SPLITS:
        data.check(split)
    if cfg.normalize == "standardize":
        data.spec = dataclasses.replace(data.spec, preprocessing=standardizing(data, cfg.normalize_sample))
    return data


def range_names(num_classes: int) -> list[str]:
    return [str(c) for c in range(num_classes)]


def _outputs(task: str, ltype: FeatureType, label: str, num_classes: int | None, names: list[str]) -> int:
    if task != "multiclass":
        return max(ltype.size, 1)
    if ltype != FeatureType("int64"):
        raise ConfigError(f"data.features.{label}={ltype}: a multiclass label is one class index per record, int64[]")
    if not num_classes or num_classes < 2:
        raise ConfigError("data.num_classes is not set: say how many classes the label has, e.g. data.num_classes=10 (or data.class_names=[a,b,c])")
    if names and len(names) != num_classes:
        raise ConfigError(f"data.class_names has {len(names)} names for data.num_classes={num_classes}: make them agree")
    return num_classes


def _files(cfg, schema: Schema | None) -> tuple[dict[str, list[str]], dict[str, int | None]]:
    """Each split's globs (config first, else the schema's files, relative to it) and its
    size (known only for the schema's own files)."""
    patterns, sizes = {}, {}
    base = Path(cfg.schema).expanduser().parent if schema else None
    for split in SPLITS:
        if cfg[split]:
            patterns[split] = [cfg[split]] if isinstance(cfg[split], str) else list(cfg[split])
            sizes[split] = None
        elif schema and split in schema.splits:
            patterns[split] = [str(base / name) for name in schema.splits[split]["files"]]
            sizes[split] = schema.splits[split]["count"]
    return patterns, sizes


def standardizing(data: TFRecordData, limit: int) -> Affine:
    """Per-input mean and std of the first ``limit`` raw train records, as an affine
    (exported models apply it, so they still take raw inputs)."""
    x = data.sample("train", limit, raw=True).astype("float64")
    mean, std = x.mean(axis=0), x.std(axis=0)
    std[std == 0] = 1.0
    log.info("data.normalize=standardize: mean and std of %d train records", len(x))
    return Affine(scale=(1 / std).astype("float32"), offset=(-mean / std).astype("float32"))
