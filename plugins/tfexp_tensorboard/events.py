"""TensorBoard summaries written as event protobufs by TensorBoard's own file writer.

The same events ``tf.summary.scalar``/``text``/``hparams`` produce, without TensorFlow
ops: a step's scalars cost microseconds instead of eager ops on the training thread
(milliseconds, which made per-step logging halve throughput), and nothing runs
TensorFlow before the strategy exists (MultiWorkerMirroredStrategy must start first).
"""

from __future__ import annotations

import time
from pathlib import Path

from tensorboard.compat.proto import event_pb2, summary_pb2, tensor_pb2, tensor_shape_pb2, types_pb2
from tensorboard.plugins.hparams import summary_v2 as hparams_summary
from tensorboard.plugins.scalar import metadata as scalar_metadata
from tensorboard.plugins.text import summary_v2 as text_summary
from tensorboard.summary.writer.event_file_writer import EventFileWriter

SCALAR = scalar_metadata.create_summary_metadata(display_name=None, description=None)
SCALAR_SHAPE = tensor_shape_pb2.TensorShapeProto()


class EventWriter:
    """One run's event file; events are written by a background thread, flushed on demand."""

    def __init__(self, logdir: Path):
        self._file = EventFileWriter(str(logdir))

    def _add(self, summary, step: int) -> None:
        self._file.add_event(event_pb2.Event(wall_time=time.time(), step=step, summary=summary))

    def scalars(self, values: dict[str, float], step: int) -> None:
        self._add(summary_pb2.Summary(value=[
            summary_pb2.Summary.Value(
                tag=name, metadata=SCALAR,
                tensor=tensor_pb2.TensorProto(dtype=types_pb2.DT_FLOAT, tensor_shape=SCALAR_SHAPE, float_val=[float(value)]),
            )
            for name, value in values.items()
        ]), step)

    def text(self, tag: str, text: str, step: int = 0) -> None:
        self._add(text_summary.text_pb(tag, text), step)

    def hparams(self, values: dict, trial_id: str) -> None:
        self._add(hparams_summary.hparams_pb(values, trial_id=trial_id), 0)

    def flush(self) -> None:
        self._file.flush()

    def close(self) -> None:
        self._file.close()
