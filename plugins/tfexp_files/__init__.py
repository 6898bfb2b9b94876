"""Built-in data plugin ``files``: data sets read from files on disk (docs/data.md).

One module per source; this module only registers them, so importing it stays cheap
(no TensorFlow). A source adds a ``DatasetSpec`` below and, when its keys need checking
before TensorFlow starts, a check in ``CHECKS``.
"""

from __future__ import annotations

from importlib import import_module

from tfexp import hookimpl
from tfexp.components import DatasetSpec


def _lazy(target: str):
    """``module:function`` of this package, imported on first call."""
    module, name = target.split(":")

    def call(*args, **kwargs):
        return getattr(import_module(f"tfexp_files.{module}"), name)(*args, **kwargs)

    return call


CHECKS = {
    "tfrecord": _lazy("tfrecord_config:check"),
    "csv": _lazy("tabular_config:check_csv"),
    "parquet": _lazy("tabular_config:check_parquet"),
    "image_folder": _lazy("images_config:check"),
    "tfds": _lazy("tfds_config:check"),
}
"""``data.name`` -> a function that checks that data set's config node (no TensorFlow)."""


@hookimpl
def tfexp_register_datasets():
    return [
        DatasetSpec("tfrecord", _lazy("tfrecord_source:load"), "TFRecord shards of tf.train.Example (data.train/val/test globs or data.schema)"),
        DatasetSpec("csv", _lazy("tabular:load_csv"), "CSV files read in batches (data.train/val/test globs, data.label, data.num_classes)"),
        DatasetSpec("parquet", _lazy("tabular:load_parquet"), "Parquet files streamed by row batch (data.train/val/test globs, data.label, data.num_classes)"),
        DatasetSpec("image_folder", _lazy("images:load"), "images in data.root/<split>/<class>/ (data.image_size, data.channels)"),
        DatasetSpec("tfds", _lazy("tfds:load"), "a TFDS data set already prepared in data.data_dir (data.dataset=mnist); no download"),
    ]


@hookimpl
def tfexp_configure(cfg):
    """Check the data keys of this plugin's sources before anything heavy is imported."""
    if (check := CHECKS.get(cfg.data.name)) is not None:
        check(cfg.data)
