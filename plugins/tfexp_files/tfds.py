"""A TFDS data set already prepared in a local ``data_dir``: nothing is downloaded.

The spec comes from ``builder.info`` (features, class names, split sizes), never from
reading examples. TFDS reads its own files, sharded by file per input pipeline through
``ReadConfig(input_context=...)``.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

import numpy as np

from tfexp.data import SPLITS, Data, DataSpec
from tfexp.errors import ConfigError
from tfexp_files.images import PIXELS, resize
from tfexp_files.optional import require
from tfexp_files.tfds_config import check

log = logging.getLogger("tfexp.data")


class TfdsData(Data):
    def __init__(self, cfg) -> None:
        self.tfds = require("tensorflow_datasets", "tfds")
        self.cfg = cfg
        self.builder = prepared_builder(self.tfds, cfg)
        info = self.builder.info
        self.input, self.label = self.keys(info)
        x, y = info.features[self.input], info.features[self.label]
        if not isinstance(y, self.tfds.features.ClassLabel):
            raise ConfigError(f"data.label={self.label} of {cfg.dataset} is {type(y).__name__}, not a ClassLabel: data=tfds reads classification data sets")
        shape = (*cfg.image_size, x.shape[-1]) if cfg.image_size else tuple(x.shape)
        if None in shape:
            raise ConfigError(f"feature {self.input!r} of {cfg.dataset} has shape {x.shape}: set data.image_size=[height,width] to resize its examples to one size")
        self.source = f"tfds:{info.full_name} in {cfg.data_dir}"
        self.spec = DataSpec(
            task="multiclass", input_shape=tuple(int(d) for d in shape), num_outputs=y.num_classes, class_names=tuple(y.names),
            preprocessing=PIXELS if x.np_dtype == np.uint8 else None,
            num_examples={split: self.split_info(split).num_examples for split in SPLITS},
        )
        if empty := [split for split, size in self.spec.num_examples.items() if not size]:
            raise ConfigError(f"the {empty[0]} split is empty: data.splits.{empty[0]}={cfg.splits[empty[0]]} selects no example of {cfg.dataset}")

    def keys(self, info) -> tuple[str, str]:
        """The input and label features: from config, else the data set's supervised keys."""
        supervised = info.supervised_keys or (None, None)
        chosen = (self.cfg.input or supervised[0], self.cfg.label or supervised[1])
        known = list(info.features.keys())
        for key, name in zip(("data.input", "data.label"), chosen):
            if name not in known:
                problem = f"{key}={name} is not a feature of" if name else f"set {key}: no supervised keys in"
                raise ConfigError(f"{problem} {self.cfg.dataset}; its features are: {', '.join(known)}")
        return chosen

    def split_info(self, split: str):
        name = self.cfg.splits[split]
        try:
            return self.builder.info.splits[name]
        except (KeyError, ValueError):
            known = ", ".join(self.builder.info.splits.keys())
            raise ConfigError(f"data.splits.{split}={name} is not a split of {self.cfg.dataset}; its splits are: {known}") from None

    def records(self, split, *, training, seed, input_context, pipeline):
        import tensorflow as tf

        workers = input_context.num_input_pipelines if input_context else 1
        by_file = len(self.split_info(split).file_instructions) >= workers
        if workers > 1 and not by_file:
            log.warning("data.splits.%s has fewer files than the %d workers: every worker reads all and keeps 1/%d", split, workers, workers)
        read_config = self.tfds.ReadConfig(
            input_context=input_context if workers > 1 and by_file else None, shuffle_seed=seed,
            try_autocache=False, skip_prefetch=True,  # cache and prefetch are the pipeline's (pipeline.*)
        )
        ds = self.builder.as_dataset(split=self.cfg.splits[split], shuffle_files=training, read_config=read_config)
        if workers > 1 and not by_file:
            ds = ds.shard(workers, input_context.input_pipeline_id)
        size = self.cfg.image_size
        return ds.map(lambda ex: (resize(ex[self.input], size) if size else ex[self.input], ex[self.label]),
                      num_parallel_calls=tf.data.AUTOTUNE, deterministic=pipeline.deterministic)

    def parse(self, batch):
        import tensorflow as tf

        x, y = batch
        return tf.cast(x, tf.float32), tf.cast(y, tf.int32)


def prepared_builder(tfds, cfg):
    """The data set's builder, or one line naming the directory and how to prepare it."""
    data_dir = Path(cfg.data_dir).expanduser()
    how = f"prepare it with `tfds build {cfg.dataset} --data_dir={data_dir}` on a machine with internet access, then copy that folder here"
    if not data_dir.is_dir():
        raise ConfigError(f"data.data_dir={cfg.data_dir} is not a folder (relative to {os.getcwd()}): {how}")
    present = ", ".join(sorted(p.name for p in data_dir.iterdir() if p.is_dir() and p.name != "downloads")) or "nothing"
    try:
        builder = tfds.builder(cfg.dataset, data_dir=str(data_dir))
    except tfds.core.DatasetNotFoundError:
        builder = None
    if builder is None or not builder.is_prepared():
        raise ConfigError(f"data.dataset={cfg.dataset} is not prepared in data.data_dir={data_dir} (it holds: {present}): {how}")
    return builder


def load(cfg, seed: int) -> TfdsData:
    return TfdsData(check(cfg))
