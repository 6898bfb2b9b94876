"""Config composition, structured-config type checks and range validation."""

from __future__ import annotations

import pytest
from hydra.errors import ConfigCompositionException

from tfexp.config import apply_debug, validate
from tfexp.errors import ConfigError
from tfexp.testing import compose

CONF_GROUP_OPTIONS = {
    "model": ["mlp", "cnn", "auto"],
    "data": ["digits", "synthetic"],
    "strategy": ["default"],
    "technique": ["supervised"],
    "tracking": ["default", "none"],
}


@pytest.mark.parametrize("group,option", [(g, o) for g, opts in CONF_GROUP_OPTIONS.items() for o in opts])
def test_every_group_option_composes_and_validates(group, option):
    cfg = compose([f"{group}={option}"])
    validate(cfg)
    if group in ("model", "data", "strategy", "technique"):
        assert cfg[group].name == option


def test_default_config_has_the_documented_top_level_keys():
    cfg = compose()
    assert cfg.seed == 42
    for key in ("epochs", "batch_size", "optimizer", "learning_rate"):
        assert key in cfg.trainer
    assert cfg.tracking.experiment_name == "tfexp" and cfg.tracking.uri is None
    assert (cfg.model.name, cfg.data.name, cfg.technique.name) == ("mlp", "digits", "supervised")


def test_overrides_reach_the_config():
    cfg = compose(["model=cnn", "data=synthetic", "trainer.epochs=3", "trainer.batch_size=32", "seed=7"])
    assert (cfg.model.name, cfg.data.name, cfg.trainer.epochs, cfg.trainer.batch_size, cfg.seed) == ("cnn", "synthetic", 3, 32, 7)


def test_wrong_type_names_the_key_and_type():
    with pytest.raises(ConfigCompositionException) as info:
        compose(["trainer.epochs=abc"])
    message = str(info.value) + str(info.value.__cause__)
    assert "trainer.epochs" in message and "int" in message.lower()


def test_model_specific_keys_are_typed():
    with pytest.raises(ConfigCompositionException) as info:
        compose(["model.dropout=lots"])
    assert "dropout" in str(info.value) + str(info.value.__cause__)


def test_misspelled_key_is_rejected():
    with pytest.raises(ConfigCompositionException) as info:
        compose(["trainer.epoch=3"])
    assert "epoch" in str(info.value) + str(info.value.__cause__)


def test_unknown_group_option_lists_the_choices():
    with pytest.raises(ConfigCompositionException) as info:
        compose(["model=transformer"])
    assert "mlp" in str(info.value) and "cnn" in str(info.value)


@pytest.mark.parametrize(
    "override,key",
    [
        ("trainer.epochs=-1", "trainer.epochs"),
        ("trainer.batch_size=0", "trainer.batch_size"),
        ("trainer.learning_rate=0", "trainer.learning_rate"),
        ("data.test_fraction=1.5", "data.test_fraction"),
        ("tracking.log_every_n_steps=-5", "tracking.log_every_n_steps"),
    ],
)
def test_out_of_range_values_name_the_key(override, key):
    with pytest.raises(ConfigError, match=key.replace(".", r"\.")):
        validate(compose([override]))


def test_debug_fast_wins_over_presets_and_stays_tunable():
    cfg = apply_debug(compose(["+experiment=baseline", "debug=fast"]))
    assert cfg.trainer.epochs == 1 and cfg.trainer.steps_per_epoch == 5
    cfg = apply_debug(compose(["+experiment=baseline", "debug=fast", "debug.trainer.epochs=2"]))
    assert cfg.trainer.epochs == 2


def test_debug_keys_are_type_checked_when_applied():
    with pytest.raises(ConfigError, match="epochs"):
        apply_debug(compose(["debug=fast", "debug.trainer.epochs=many"]))
