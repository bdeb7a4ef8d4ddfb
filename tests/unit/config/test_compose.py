"""Composing the shipped configs, the conf= switch and schema validation."""

import pytest
from omegaconf import OmegaConf

from cnnkit.commands.validation import validated as validate
from cnnkit.config.compose import compose, preset_names, translate_overrides
from cnnkit.errors import ConfigError


def test_default_train_config_composes_and_validates():
    cfg = compose("train", [])
    typed = validate(cfg)
    assert cfg.data.source == "digits"
    assert cfg.model.kind == "spec"
    assert typed.trainer.epochs > 0


def test_group_and_key_overrides_apply():
    cfg = compose("train", ["model=lenet5", "trainer.epochs=3", "optimizer=sgd", "data=shapes"])
    assert cfg.model.name == "lenet5"
    assert cfg.trainer.epochs == 3
    assert cfg.optimizer.name == "sgd"
    assert cfg.data.source == "shapes"


def test_user_file_is_merged_over_the_defaults(tmp_path):
    path = tmp_path / "mine.yaml"
    path.write_text("model:\n  input_shape: [16, 16, 1]\n  layers:\n    - Flatten: {}\n"
                    "    - Dense: {units: 3, activation: softmax}\ntrainer:\n  epochs: 2\n")
    cfg = compose("train", [f"conf={path}", "trainer.epochs=4"])
    assert list(cfg.model.input_shape) == [16, 16, 1]
    assert len(cfg.model.layers) == 2  # lists replace, they do not append
    assert cfg.model.name == "mine"
    assert cfg.name == "mine"
    assert cfg.trainer.epochs == 4  # the command line wins over the file
    assert cfg.data.source == "digits"  # untouched defaults stay


def test_user_file_may_switch_groups_with_its_own_defaults_list(tmp_path):
    path = tmp_path / "mine.yaml"
    path.write_text("defaults:\n  - override /model: lenet5\n  - override /data: shapes\n")
    cfg = compose("train", [f"conf={path}"])
    assert cfg.model.name == "lenet5"
    assert cfg.data.source == "shapes"


def test_missing_conf_file_is_named():
    with pytest.raises(ConfigError, match=r"nope\.yaml.*no such file"):
        translate_overrides(["conf=./nope.yaml"])


def test_unknown_preset_lists_the_presets():
    with pytest.raises(ConfigError, match=r"unknown preset.*'nope'"):
        translate_overrides(["conf=nope"])


def test_unknown_group_option_is_a_config_error():
    with pytest.raises(ConfigError, match=r"`model=vgg_nope` names no shipped model preset"):
        compose("train", ["model=vgg_nope"])


def test_schema_rejects_typos_with_the_full_key():
    cfg = compose("train", [])
    OmegaConf.set_struct(cfg, False)
    cfg.trainer.epocs = 3
    with pytest.raises(ConfigError, match=r"trainer\.epocs"):
        validate(cfg)


def test_schema_rejects_wrong_types_and_ranges():
    with pytest.raises(ConfigError, match=r"trainer\.epochs"):
        validate(compose("train", ["trainer.epochs=many"]))
    with pytest.raises(ConfigError, match=r"`optimizer\.lr` must be greater than 0. Received: -0\.1"):
        validate(compose("train", ["optimizer.lr=-0.1"]))
    with pytest.raises(ConfigError, match=r"`summary\.format` must be one of table, json. Received: 'xml'"):
        validate(compose("summary", ["summary.format=xml"]))


def test_presets_ship_with_the_package():
    assert {"default", "lenet5"} <= set(preset_names("model"))
    assert {"digits", "shapes"} <= set(preset_names("data"))


@pytest.mark.parametrize(("missing", "extra"), [("hydra/sweeper/optuna", "optuna"),
                                                ("hydra/launcher/joblib", "joblib"),
                                                ("hydra/launcher/submitit_slurm", "submitit")])
def test_a_plugin_preset_without_its_extra_names_the_pip_command(missing, extra):
    """What Hydra raises when the plugin is not installed becomes one line with the install."""
    from hydra.errors import MissingConfigException

    from cnnkit.config.compose import hydra_errors

    with pytest.raises(ConfigError) as caught, hydra_errors(["hparams_search=optuna"]):
        raise MissingConfigException(f"Could not find '{missing}'", missing_cfg_file=missing,
                                     options=["basic"])
    group, _, option = missing.rpartition("/")
    assert str(caught.value).startswith(f"`{group}={option}` needs the Hydra plugin ")
    assert str(caught.value).endswith(f'pip install "cnnkit[{extra}]"')
    assert "\n" not in str(caught.value)
