"""Sources over files: each split is a list of globs, read by a parallel interleave of
files and sharded *by file* per input pipeline, so each worker reads only its own files."""

from __future__ import annotations

import abc
import glob
import logging
import os
from typing import Any, Mapping, Sequence

from tfexp.data.source import Data
from tfexp.data.spec import DataSpec
from tfexp.errors import ConfigError

log = logging.getLogger("tfexp.data")


class FileData(Data):
    """Subclasses say how one file becomes records (:meth:`read`) and how a batch of
    records becomes ``(raw inputs, targets)`` (:meth:`parse`)."""

    def __init__(self, spec: DataSpec, patterns: Mapping[str, str | Sequence[str]], key: str = "data") -> None:
        self.spec = spec
        self.patterns = {split: [p] if isinstance(p, str) else list(p) for split, p in patterns.items()}
        self.key = key
        self.source = "; ".join(f"{split}={','.join(p)}" for split, p in self.patterns.items())

    def files(self, split: str) -> list[str]:
        """The split's files, sorted (the same order on every worker)."""
        patterns = self.patterns.get(split)
        if not patterns:
            raise ConfigError(f"{self.key}.{split} is not set: name the {split} files (a glob such as 'data/{split}-*.tfrecord')")
        found = sorted({f for p in patterns for f in glob.glob(os.path.expanduser(p))})
        if not found:
            raise ConfigError(f"{self.key}.{split}={','.join(patterns)} matches no file (relative to {os.getcwd()}); check the path or the glob")
        return found

    @abc.abstractmethod
    def read(self, filename) -> Any:
        """The records of one file as an unbatched ``tf.data.Dataset`` (``filename`` is a tensor)."""

    def records(self, split, *, training, seed, input_context, pipeline):
        import tensorflow as tf

        files = self.files(split)
        ds = tf.data.Dataset.from_tensor_slices(files)
        workers = input_context.num_input_pipelines if input_context else 1
        by_file = len(files) >= workers
        if workers > 1 and by_file:
            ds = ds.shard(workers, input_context.input_pipeline_id)
        elif workers > 1:
            log.warning("%s.%s has %d file(s) for %d workers: every worker reads every file and keeps 1/%d of the records; "
                        "write at least %d shards to read less", self.key, split, len(files), workers, workers, workers)
        if training:
            ds = ds.shuffle(len(files), seed=seed, reshuffle_each_iteration=True)
        ds = ds.interleave(
            self.read, cycle_length=pipeline.interleave or tf.data.AUTOTUNE,
            num_parallel_calls=tf.data.AUTOTUNE, deterministic=pipeline.deterministic,
        )
        if workers > 1 and not by_file:
            ds = ds.shard(workers, input_context.input_pipeline_id)
        return ds

    def explain(self, error: BaseException) -> Exception | None:
        """A bad record named with its file: pipelines interleave files and do not carry
        names (that costs throughput), so on failure each file is read again on its own
        until one fails the same way."""
        import tensorflow as tf

        found = super().explain(error)
        if found is None:
            return None
        for split in self.patterns:
            for file in self.files(split):
                batches = self.read(tf.constant(file)).batch(4096)
                try:
                    for _ in batches.map(self.decoder(raw=True)):
                        pass
                except tf.errors.OpError:
                    return ConfigError(f"{found} (in {file})")
        return found

    def identity(self) -> dict[str, Any]:
        """File names, sizes and modification times: changes when a file does, reads none."""
        listing = {}
        for split in self.patterns:
            try:
                listing[split] = [(f, os.path.getsize(f), int(os.path.getmtime(f))) for f in self.files(split)]
            except ConfigError:
                listing[split] = []
        return {**super().identity(), "files": listing}
