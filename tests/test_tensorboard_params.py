"""TensorBoard shows the params the core sends (the config, masked), read back with TensorBoard's own reader."""

from __future__ import annotations

from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

from tfexp.secrets import MASK
from tfexp.testing import tiny_run


def test_params_text_holds_the_masked_config_then_the_model_size(tmp_path):
    run = tiny_run(tmp_path, ["tracking.mlflow.enabled=false", "+data.api_token=s3cr3t"])
    events = EventAccumulator(str(run.output_dir / "tensorboard"), size_guidance={"tensors": 0})
    events.Reload()
    config, size = (event.tensor_proto.string_val[0].decode() for event in events.Tensors("params"))
    assert "    model.name: mlp" in config.splitlines() and f"    data.api_token: {MASK}" in config.splitlines()
    assert "s3cr3t" not in config and size == f"    model.params: {run.model.count_params()}"
    assert [event.step for event in events.Tensors("params")] == [0, 1]
