"""The example's JSON-lines tracker receives everything a tracker is documented to receive:
in a run (params, tags, metrics, artifacts, the model, the traceback) and in a sweep run with
MLflow disabled (its start, each job's end, its end with the summary)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tfexp.secrets import MASK
from tfexp.testing import FailsAfterFit, run_cli, tiny_run


def events(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def of(recorded: list[dict], event: str) -> list[dict]:
    return [e for e in recorded if e["event"] == event]


def test_a_run_is_recorded_from_start_to_end(tmp_path):
    run = tiny_run(tmp_path, ["tracking=none", "+data.api_token=s3cr3t"])
    recorded = events(run.output_dir / "events.jsonl")
    assert recorded[0]["event"] == "start" and recorded[-1] == {**recorded[-1], "event": "end", "status": "FINISHED"}
    params = {k: v for e in of(recorded, "params") for k, v in e["params"].items()}
    assert params["model.name"] == "mlp" and params["data.api_token"] == MASK and params["trainer.epochs"] == 1
    tags = {k: v for e in of(recorded, "tags") for k, v in e["tags"].items()}
    assert tags["tfexp.technique"] == "supervised" and tags["tfexp.output_dir"] == str(run.output_dir)
    metrics = {(e["step"], k): v for e in of(recorded, "metrics") for k, v in e["metrics"].items()}
    assert metrics[0, "val_loss"] == run.history["val_loss"][0] and metrics[1, "test_accuracy"] == run.test_metrics["test_accuracy"]
    assert {"config", None} <= {e["artifact_path"] for e in of(recorded, "artifact")}
    assert of(recorded, "model") == [{**of(recorded, "model")[0], "name": "model", "params": run.model.count_params()}]
    assert "s3cr3t" not in (run.output_dir / "events.jsonl").read_text()


def test_a_failed_run_records_its_traceback(tmp_path):
    with pytest.raises(RuntimeError):
        tiny_run(tmp_path, ["tracking=none"], plugins=[FailsAfterFit()])
    recorded = events(tmp_path / "outputs" / "events.jsonl")
    (error,) = of(recorded, "error")
    assert error["error"] == "RuntimeError: broken after fit" and "in tfexp_after_fit" in error["traceback"]
    assert recorded[-1]["status"] == "FAILED" and of(recorded, "metrics")  # what was logged before is kept


def test_a_sweep_without_mlflow_is_recorded_job_by_job(tmp_path):
    result = run_cli(["-m", "seed=1,2", "debug=fast"], cwd=tmp_path, env={"TFEXP_DISABLE_PLUGINS": "mlflow_tracker"})
    assert result.returncode == 0, result.stderr[-3000:]
    (sweep_file,) = (tmp_path / "multirun").glob("*/*/sweep_events.jsonl")
    recorded = events(sweep_file)
    assert [e["event"] for e in recorded] == ["sweep_start", "sweep_job_end", "sweep_job_end", "sweep_end"]
    start, *jobs, end = recorded
    assert start["space"] == {"seed": "1,2"} and start["n_jobs"] == 2 and start["objective"] == "val_accuracy"
    assert sorted(job["overrides"]["seed"] for job in jobs) == ["1", "2"]
    assert all(job["status"] == "FINISHED" and job["objective"] == "val_accuracy" and 0 <= job["value"] <= 1 for job in jobs)
    best = max(jobs, key=lambda job: job["value"])
    assert end["jobs"] == 2 and end["failed"] == 0 and end["best"] == best["index"] and end["files"]
    for job in jobs:  # each job's run has its own events, ending FINISHED
        assert events(Path(job["output_dir"]) / "events.jsonl")[-1]["status"] == "FINISHED"
    assert not (tmp_path / "mlflow.db").exists()
