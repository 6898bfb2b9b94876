"""Tracking data that could not reach the MLflow server, kept in a file and sent later.

``python -m tfexp_mlflow.spill <output_dir>/unsent_tracking.jsonl`` sends the metrics,
uploads the artifacts and closes the run once the server is back.
"""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass, field
from pathlib import Path


@dataclass
class Spill:
    path: Path
    run_id: str
    uri: str
    metrics: list = field(default_factory=list)
    artifacts: list[tuple[str, str | None]] = field(default_factory=list)
    status: str | None = None
    """The run's final status, when ending the run itself failed."""

    def write(self) -> bool:
        """Write the file if anything is unsent; True if it was written."""
        if not (self.metrics or self.artifacts or self.status):
            return False
        lines = [{"run_id": self.run_id, "tracking_uri": self.uri, "status": self.status}]
        lines += [{"metric": m.key, "value": m.value, "timestamp": m.timestamp, "step": m.step} for m in self.metrics]
        lines += [{"artifact": path, "artifact_path": artifact_path} for path, artifact_path in self.artifacts]
        self.path.write_text("".join(json.dumps(line) + "\n" for line in lines))
        return True


def send(path: Path) -> str:
    """Replay a spill file into its run; returns the run id."""
    from mlflow import MlflowClient
    from mlflow.entities import Metric

    header, *entries = [json.loads(line) for line in path.read_text().splitlines()]
    client = MlflowClient(header["tracking_uri"])
    run_id = header["run_id"]
    metrics = [Metric(e["metric"], e["value"], e["timestamp"], e["step"]) for e in entries if "metric" in e]
    for i in range(0, len(metrics), 1000):
        client.log_batch(run_id, metrics=metrics[i : i + 1000])
    for entry in (e for e in entries if "artifact" in e):
        upload = client.log_artifacts if Path(entry["artifact"]).is_dir() else client.log_artifact
        upload(run_id, entry["artifact"], entry["artifact_path"])
    if header["status"]:
        client.set_terminated(run_id, header["status"])
    path.rename(path.with_suffix(".sent"))
    return run_id


def main(argv: list[str] | None = None) -> int:
    args = argv if argv is not None else sys.argv[1:]
    if len(args) != 1 or not Path(args[0]).is_file():
        print("usage: python -m tfexp_mlflow.spill <output_dir>/unsent_tracking.jsonl", file=sys.stderr)
        return 2
    run_id = send(Path(args[0]))
    print(f"sent to MLflow run {run_id}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
