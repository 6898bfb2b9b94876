"""``tracking.mlflow.*``: the MLflow plugin's own keys, out of the core schema; the spellings
of tfexp 0.1 still compose to the same config, with one warning line naming old and new key."""

from __future__ import annotations

import logging

import pytest
from omegaconf import OmegaConf

from tfexp.cli_args import upgraded
from tfexp.config import Config
from tfexp.errors import ConfigError
from tfexp.testing import compose
from tfexp_mlflow.config import check_config, mlflow_config

OLD_AND_NEW = [
    ("tracking.mlflow=false", "tracking.mlflow.enabled=false"),
    ("tracking.fallback=local", "tracking.mlflow.fallback=local"),
    ("tracking.retry_timeout_s=3.0", "tracking.mlflow.retry_timeout_s=3.0"),
    ("tracking.flush_interval_s=0.5", "tracking.mlflow.flush_interval_s=0.5"),
    ("tracking.register_model=digits", "tracking.mlflow.register_model=digits"),
    ("tracking.register_alias=prod", "tracking.mlflow.register_alias=prod"),
    ("sweep.register_best=digits-best", "tracking.mlflow.register_best=digits-best"),
    ("tracking.system_metrics=false", "tracking.mlflow.system_metrics=false"),
    ("tracking.system_metrics_interval_s=1.0", "tracking.mlflow.system_metrics_interval_s=1.0"),
]


@pytest.mark.parametrize(("old", "new"), OLD_AND_NEW)
def test_the_old_spelling_composes_the_new_key_with_one_warning_naming_both(old, new, caplog):
    with caplog.at_level(logging.WARNING, logger="tfexp.config"):
        from_old = compose([old])
    (warning,) = [r.getMessage() for r in caplog.records]
    assert old.split("=")[0] in warning and new in warning and "\n" not in warning
    assert from_old == compose([new])
    key, value = new.split("=")
    assert str(OmegaConf.select(check_config(from_old), key.removeprefix("tracking.mlflow."))).lower() == value


def test_the_core_schema_holds_no_mlflow_key():
    tracking = compose(["tracking=none"]).tracking
    assert {"fallback", "retry_timeout_s", "flush_interval_s", "register_model", "system_metrics"}.isdisjoint(tracking)
    assert "register_best" not in compose([]).sweep
    assert dict(tracking.mlflow) == {"enabled": False}  # the plugin fills in the rest
    assert mlflow_config(compose(["tracking=none"])).retry_timeout_s == 60.0


def test_the_plugin_puts_its_checked_node_into_the_run_config():
    from tfexp.plugins import build_plugin_manager

    cfg = compose(["tracking=csv", "tracking.mlflow.enabled=true"])
    build_plugin_manager().hook.tfexp_configure(cfg=cfg)
    assert cfg.tracking.mlflow.enabled is True and cfg.tracking.mlflow.register_alias == "candidate"


def test_an_unknown_mlflow_key_names_the_known_ones():
    with pytest.raises(ConfigError, match=r"tracking\.mlflow\.flush_interval: .*enabled, .*flush_interval_s, .*register_best"):
        check_config(compose(["tracking.mlflow.flush_interval=1"]))


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        (["tracking.mlflow.fallback=remote"], r"tracking\.mlflow\.fallback='remote' is invalid: expected null or local"),
        (["tracking.mlflow.system_metrics_interval_s=0"], r"tracking\.mlflow\.system_metrics_interval_s=0\.0 is invalid"),
        (["tracking.mlflow.register_model=m", "tracking.log_model=false"], r"tracking\.mlflow\.register_model=m needs the run's model in MLflow"),
        (["tracking.mlflow.register_best=m", "tracking=none"], r"tracking\.mlflow\.register_best=m needs .* tracking\.mlflow\.enabled=False"),
    ],
)
def test_bad_values_name_the_key(overrides, message):
    with pytest.raises(ConfigError, match=message):
        check_config(compose(overrides))


def test_the_boolean_of_tfexp_0_1_in_a_config_file_still_switches_mlflow():
    assert mlflow_config(OmegaConf.create({"tracking": {"mlflow": False}})).enabled is False


def test_a_checkpoint_config_of_tfexp_0_1_is_read_with_its_keys_moved():
    saved = {"tracking": {"mlflow": True, "fallback": "local", "flush_interval_s": 0.2}, "sweep": {"register_best": None}}
    cfg = OmegaConf.merge(OmegaConf.structured(Config), upgraded(saved))  # what resume= does with it
    assert dict(cfg.tracking.mlflow) == {"enabled": True, "fallback": "local", "flush_interval_s": 0.2, "register_best": None}
