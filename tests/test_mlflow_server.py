"""Logging to a real ``mlflow server`` on 127.0.0.1, checked through its REST API."""

from __future__ import annotations

import json
import urllib.request

import pytest

from tfexp.testing import run_cli

pytestmark = pytest.mark.slow  # a real server and two CLI runs: ~1 min

FAST = ["debug=fast", "tracking.log_model=false"]


def rest(url: str, path: str, body: dict | None = None) -> dict:
    request = urllib.request.Request(
        f"{url}/api/2.0/mlflow/{path}",
        data=json.dumps(body).encode() if body is not None else None,
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.load(response)


def runs_of(url: str, experiment_name: str) -> list[dict]:
    experiment = rest(url, f"experiments/get-by-name?experiment_name={experiment_name}")["experiment"]
    return rest(url, "runs/search", {"experiment_ids": [experiment["experiment_id"]]}).get("runs", [])


def test_run_logs_params_metrics_and_artifacts_to_the_server(mlflow_server, tmp_path):
    url = mlflow_server.url
    result = run_cli([*FAST, f"tracking.uri={url}", "tracking.experiment_name=server_single"], cwd=tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]
    assert not (tmp_path / "mlflow.db").exists()  # nothing went to the embedded store
    (run,) = runs_of(url, "server_single")
    assert run["info"]["status"] == "FINISHED"
    params = {p["key"]: p["value"] for p in run["data"]["params"]}
    metrics = {m["key"] for m in run["data"]["metrics"]}
    assert params["model.name"] == "mlp" and {"val_accuracy", "test_accuracy"} <= metrics
    listed = rest(url, f"artifacts/list?run_id={run['info']['run_id']}&path=config")
    assert "config/config.yaml" in {f["path"] for f in listed["files"]}
    assert f"{url}/#/experiments/" in result.stderr  # the summary links the UI


def test_sweep_against_the_server_has_parent_and_children(mlflow_server, tmp_path):
    url = mlflow_server.url
    result = run_cli(["-m", *FAST, "seed=1,2", f"tracking.uri={url}", "tracking.experiment_name=server_sweep"], cwd=tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]
    runs = runs_of(url, "server_sweep")
    tags = [{t["key"]: t["value"] for t in r["data"].get("tags", [])} for r in runs]
    (parent_id,) = [r["info"]["run_id"] for r, t in zip(runs, tags) if t.get("tfexp.sweep") == "parent"]
    children = [t for t in tags if t.get("mlflow.parentRunId") == parent_id]
    assert len(children) == 2 and len(runs) == 3
