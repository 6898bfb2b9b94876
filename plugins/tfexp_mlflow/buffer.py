"""Metrics buffered on the training thread and written by a background thread."""

from __future__ import annotations

import logging
import threading
import time

log = logging.getLogger("tfexp.mlflow")

MAX_METRICS_PER_BATCH = 1000  # MLflow's log_batch limit


class MetricBuffer:
    """``add`` only appends under a lock; ``log_batch`` runs every ``interval`` seconds
    off the training thread, and once more in ``close`` (also after an error)."""

    def __init__(self, client, run_id: str, interval: float):
        self._client, self._run_id, self._interval = client, run_id, interval
        self._pending: list = []
        self._lock = threading.Lock()
        self._closed = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="tfexp-mlflow-metrics", daemon=True)
        self._thread.start()

    def add(self, metrics: dict[str, float], step: int) -> None:
        from mlflow.entities import Metric

        now = int(time.time() * 1000)
        entries = [Metric(key, float(value), now, step) for key, value in metrics.items()]
        with self._lock:
            self._pending.extend(entries)

    def _loop(self) -> None:
        while not self._closed.wait(self._interval):
            try:
                self._write()
            except Exception as exc:  # keep training; the final flush retries
                log.warning("MLflow metric write failed, will retry: %s", exc)

    def _write(self) -> None:
        with self._lock:
            batch, self._pending = self._pending, []
        for i in range(0, len(batch), MAX_METRICS_PER_BATCH):
            try:
                self._client.log_batch(self._run_id, metrics=batch[i : i + MAX_METRICS_PER_BATCH])
            except Exception:
                with self._lock:  # put back what was not written, in order
                    self._pending[:0] = batch[i:]
                raise

    def close(self) -> None:
        self._closed.set()
        self._thread.join()
        self._write()
