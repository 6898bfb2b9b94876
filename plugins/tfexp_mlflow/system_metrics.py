"""MLflow's own system metrics for one run: ``system/*`` (CPU, memory, disk, network; GPUs
when nvidia-ml-py finds one), sampled by MLflow's monitor thread every
``tracking.mlflow.system_metrics_interval_s`` seconds and shown in the run's System metrics tab.

tfexp starts the monitor itself rather than ``start_run(log_system_metrics=True)`` so that it
can pause it while a model is logged: MLflow attaches every metric logged at the model's step
to the model, and the machine's load is not the model's.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from tfexp.errors import TfexpError


class SystemMetrics:
    def __init__(self, run_id: str, uri: str, interval_s: float, resumed: bool):
        self._run_id, self._uri, self._interval_s = run_id, uri, interval_s
        self._monitor = None
        self._start(resume=resumed)

    def _start(self, resume: bool) -> None:
        try:
            from mlflow.system_metrics.system_metrics_monitor import SystemMetricsMonitor
        except ImportError as exc:
            raise TfexpError(f"tracking.mlflow.system_metrics needs {exc.name}: pip install psutil, or set tracking.mlflow.system_metrics=false") from None
        self._monitor = SystemMetricsMonitor(
            self._run_id, sampling_interval=self._interval_s, resume_logging=resume, tracking_uri=self._uri,
        )
        self._monitor.start()

    def stop(self) -> None:
        """Stop sampling and write what was sampled."""
        if self._monitor is not None:
            self._monitor.finish()
            self._monitor = None

    @contextmanager
    def paused(self) -> Iterator[None]:
        """No samples inside; sampling goes on afterwards at the next step."""
        running = self._monitor is not None
        self.stop()
        try:
            yield
        finally:
            if running:
                self._start(resume=True)
