"""Metrics buffered on the training thread and written by a background thread.

``add`` only appends under a lock; a daemon thread writes with ``log_batch`` every
``interval`` seconds. A failed write keeps the metrics and is retried on the next tick
(a lost server costs nothing but delay); ``close`` retries for ``retry_timeout`` seconds
and then hands back what could not be written.
"""

from __future__ import annotations

import logging
import threading
import time

log = logging.getLogger("tfexp.mlflow")

MAX_METRICS_PER_BATCH = 1000  # MLflow's log_batch limit


class MetricBuffer:
    def __init__(self, client, run_id: str, interval: float, floor: dict[str, int] | None = None):
        self._client, self._run_id, self._interval = client, run_id, interval
        self._pending: list = []
        self._lock = threading.Lock()  # guards _pending and the step records
        self._write_lock = threading.Lock()  # one writer at a time, so flush() waits for it
        self._last_step: dict[str, int] = dict(floor or {})
        self._floor: dict[str, int] = dict(floor or {})
        self._closed = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="tfexp-mlflow-metrics", daemon=True)
        self._thread.start()

    def add(self, metrics: dict[str, float], step: int) -> None:
        from mlflow.entities import Metric

        now = int(time.time() * 1000)
        with self._lock:
            for key, value in metrics.items():
                if step <= self._floor.get(key, -1):
                    continue  # already logged before a restore (resume, NaN recovery)
                self._pending.append(Metric(key, float(value), now, step))
                self._last_step[key] = max(step, self._last_step.get(key, step))

    def rewind(self) -> None:
        """Training went back to a checkpoint: drop repeats of steps already logged."""
        with self._lock:
            self._floor = dict(self._last_step)

    def flush(self) -> None:
        """Write everything added so far, now (raises if the server refuses)."""
        with self._write_lock:
            with self._lock:
                batch, self._pending = self._pending, []
            for i in range(0, len(batch), MAX_METRICS_PER_BATCH):
                try:
                    self._client.log_batch(self._run_id, metrics=batch[i : i + MAX_METRICS_PER_BATCH])
                except Exception:
                    with self._lock:  # put back what was not written, in order
                        self._pending[:0] = batch[i:]
                    raise

    def _loop(self) -> None:
        while not self._closed.wait(self._interval):
            try:
                self.flush()
            except Exception as exc:
                log.warning("MLflow metric write failed (%s); keeping %d values and retrying", exc, len(self._pending))

    def close(self, retry_timeout: float) -> list:
        """Stop the thread, write what is left (retrying with backoff up to
        ``retry_timeout`` seconds) and return the metrics that could not be written."""
        self._closed.set()
        self._thread.join()
        deadline, delay = time.monotonic() + retry_timeout, 1.0
        while True:
            try:
                self.flush()
                return []
            except Exception as exc:
                if time.monotonic() + delay > deadline:
                    log.warning("MLflow still unreachable (%s)", exc)
                    with self._lock:
                        return list(self._pending)
                time.sleep(delay)
                delay = min(delay * 2, 30.0)
