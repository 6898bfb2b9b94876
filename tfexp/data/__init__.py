"""The data contract: a source of tf.data pipelines described by a :class:`DataSpec`.

Plugins return a :class:`Data` from ``DatasetSpec.load``: :class:`ArrayData` (alias
``Datasets``) for arrays in memory, or a streaming source over files (see docs/data.md).
Code outside this package reads examples only through ``Data.dataset``/``sample`` or the
explicit whole-split reads in :mod:`tfexp.data.reading`.
"""

from tfexp.data.arrays import ArrayData, Datasets
from tfexp.data.files import FileData
from tfexp.data.pipeline import Pipeline
from tfexp.data.reading import label_counts, materialize, predict
from tfexp.data.source import Data
from tfexp.data.spec import SPLITS, TASKS, Affine, DataSpec

__all__ = ["Affine", "ArrayData", "Data", "DataSpec", "Datasets", "FileData", "Pipeline", "SPLITS", "TASKS", "label_counts", "materialize", "predict"]
