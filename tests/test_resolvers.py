"""What only a tracker can resolve, asked through the resolver hooks (``tfexp_locate_run``,
``tfexp_load_model``), and the tracker references a checkpoint keeps for ``resume=``."""

from __future__ import annotations

import json

import pytest

from tfexp.errors import ConfigError
from tfexp.testing import compose, store_uri


def test_a_reference_no_tracker_resolves_is_one_clear_line():
    from tfexp.plugins import build_plugin_manager
    from tfexp.resolvers import load_model, locate_run

    pm, cfg = build_plugin_manager(load_installed=False), compose(["debug=fast"])
    with pytest.raises(ConfigError, match=r"^resume=0123abc: neither a directory nor a run id a tracker knows \(asked: none installed\)\. Give"):
        locate_run(pm, cfg, "0123abc")
    with pytest.raises(ConfigError, match=r"^technique.teacher='runs:/0123abc/model': no installed tracker loads this URI \(asked: none installed\)\. Give"):
        load_model(pm, cfg, "runs:/0123abc/model", "technique.teacher")


@pytest.mark.slow
def test_mlflow_loads_a_runs_uri_from_the_runs_store_and_leaves_the_process_uri_alone(tmp_path):
    """A teacher logged to one store, loaded while the process points elsewhere (another
    run's store): the model comes back, and the process-wide tracking URI is unchanged."""
    import keras
    import mlflow
    import numpy as np

    import tfexp_mlflow
    from tfexp.plugins import build_plugin_manager
    from tfexp_mlflow.store import prepared

    store = prepared(store_uri(tmp_path))
    teacher = keras.Sequential([keras.Input((4,)), keras.layers.Dense(3)])
    elsewhere = f"sqlite:///{tmp_path / 'elsewhere.db'}"
    try:
        mlflow.set_tracking_uri(store)
        with mlflow.start_run() as logged:
            mlflow.keras.log_model(teacher, name="teacher", pip_requirements=["keras"])
        mlflow.set_tracking_uri(elsewhere)
        pm = build_plugin_manager((tfexp_mlflow,), load_installed=False)
        cfg = compose(["debug=fast", f"tracking.uri={store}"])
        loaded = pm.hook.tfexp_load_model(cfg=cfg, uri=f"runs:/{logged.info.run_id}/teacher")
        assert mlflow.get_tracking_uri() == elsewhere
    finally:
        mlflow.set_tracking_uri("")
    x = np.random.default_rng(0).random((2, 4), dtype=np.float32)
    np.testing.assert_allclose(loaded.predict(x, verbose=0), teacher.predict(x, verbose=0), rtol=1e-6)
    assert pm.hook.tfexp_load_model(cfg=cfg, uri="s3://bucket/model") is None  # not MLflow's: left to others


def test_a_checkpoint_of_tfexp_0_1_still_names_its_mlflow_run(tmp_path):
    from tfexp.checkpoint import CHECKPOINT_DIR, STATE_FILE, CheckpointState

    (tmp_path / CHECKPOINT_DIR).mkdir()
    old = {"epoch": 1, "path": "checkpoints/epoch-1", "mlflow_run_id": "abc123", "stage": "", "finished": {}}
    (tmp_path / CHECKPOINT_DIR / STATE_FILE).write_text(json.dumps(old))
    assert CheckpointState.read(tmp_path).tracker_refs == {"mlflow": "abc123"}
    old["mlflow_run_id"] = None  # written with tracking.mlflow=false
    (tmp_path / CHECKPOINT_DIR / STATE_FILE).write_text(json.dumps(old))
    assert CheckpointState.read(tmp_path).tracker_refs == {}
