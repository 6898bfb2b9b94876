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
HANDOFF_EVENTS, HANDOFF_SECONDS = 500, 2.0
"""Events are handed to the writer thread in batches (one queue operation, not one per
step, which made the training thread wait for the writer's lock)."""


class EventWriter:
    """One run's event file, written by TensorBoard's background writer thread."""

    def __init__(self, logdir: Path):
        self._file = EventFileWriter(str(logdir), max_queue_size=4 * HANDOFF_EVENTS)  # a hand-off never waits
        self._pending: list[event_pb2.Event] = []
        self._handed_off = time.monotonic()

    def _add(self, summary, step: int) -> None:
        self._pending.append(event_pb2.Event(wall_time=time.time(), step=step, summary=summary))
        if len(self._pending) >= HANDOFF_EVENTS or time.monotonic() - self._handed_off >= HANDOFF_SECONDS:
            self._hand_off()

    def _hand_off(self) -> None:
        for event in self._pending:
            self._file.add_event(event)
        self._pending, self._handed_off = [], time.monotonic()

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

    def hparams_config(self, names: list[str], metrics: dict[str, str]) -> None:
        """The HParams dashboard's layout: these hyperparameters, and ``metrics`` (scalar tag
        -> column title) as its metric columns, in order (without it, every scalar is one)."""
        columns = [hparams_summary.Metric(tag, display_name=title) for tag, title in metrics.items()]
        self._add(hparams_summary.hparams_config_pb([hparams_summary.HParam(n) for n in names], columns), 0)

    def flush(self) -> None:
        self._hand_off()
        self._file.flush()

    def close(self) -> None:
        self._hand_off()
        self._file.close()
