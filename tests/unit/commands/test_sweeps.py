"""What a trial gives back to the sweeper, how a failed trial ends, and the sweeper checks."""

from __future__ import annotations

import json

import pytest
from hydra import compose, initialize_config_module
from hydra.core.hydra_config import HydraConfig
from hydra.core.override_parser.overrides_parser import OverridesParser
from omegaconf import OmegaConf

from cnnkit.commands import sweeps
from cnnkit.errors import ConfigError


def test_objective_is_the_monitors_value_at_the_chosen_epoch(tmp_path):
    (tmp_path / "metrics.json").write_text(json.dumps(
        {"loss": 0.4, "val_loss": 0.21, "val_accuracy": 0.93, "epoch": 3, "monitor": "val_loss"}))
    assert sweeps.objective(tmp_path) == 0.21
    (tmp_path / "metrics.json").write_text(json.dumps({"loss": 0.4, "monitor": "loss"}))
    assert isinstance(sweeps.objective(tmp_path), float) and sweeps.objective(tmp_path) == 0.4


@pytest.fixture
def job(request):
    """HydraConfig as inside one job of a run (`mode=RUN`) or of a multirun (`mode=MULTIRUN`)."""
    mode = getattr(request, "param", "MULTIRUN")
    with initialize_config_module(config_module="cnnkit.conf", version_base="1.3"):
        cfg = compose("train", ["++optimizer.lr=0.1", f"hydra.mode={mode}"],
                      return_hydra_config=True)
    HydraConfig.instance().set_config(cfg)
    yield
    HydraConfig.instance().cfg = None


def test_a_failed_trial_of_a_sweep_is_recorded_and_gives_none(job, tmp_path, capsys):
    assert sweeps.in_sweep()
    error = ConfigError("`trainer.monitor` names a metric training does not log.")
    assert sweeps.trial_failed(tmp_path, error, debug=False) is None
    record = json.loads((tmp_path / sweeps.FAILED).read_text())
    assert record == {"error": str(error), "type": "ConfigError", "overrides": ["++optimizer.lr=0.1"]}
    assert capsys.readouterr().err == f"cnnkit train: error: {error}\n"  # one line


def test_a_crash_in_a_sweep_prints_its_traceback_and_is_recorded(job, tmp_path, capsys):
    assert sweeps.trial_failed(tmp_path, RuntimeError("OOM\nmore"), debug=False) is None
    assert "RuntimeError: OOM" in capsys.readouterr().err
    assert json.loads((tmp_path / sweeps.FAILED).read_text())["error"] == "OOM"


@pytest.mark.parametrize("job", ["RUN"], indirect=True)
def test_a_single_run_still_stops(job, tmp_path):
    assert not sweeps.in_sweep()
    with pytest.raises(SystemExit) as stop:
        sweeps.trial_failed(tmp_path, ConfigError("bad"), debug=False)
    assert stop.value.code == 2
    with pytest.raises(RuntimeError):
        sweeps.trial_failed(tmp_path, RuntimeError("bug"), debug=False)
    assert not (tmp_path / sweeps.FAILED).exists()


def test_debug_raises_even_in_a_sweep(job, tmp_path):
    with pytest.raises(ConfigError):
        sweeps.trial_failed(tmp_path, ConfigError("bad"), debug=True)


@pytest.mark.parametrize(("override", "values"), [
    ("optimizer.lr=tag(log, interval(1e-4, 1e-1))", ["0.0001", "0.1"]),
    ("data.batch_size=choice(16, 32, 64)", ["16", "32", "64"]),
    ("data.batch_size=int(interval(8, 64))", ["8", "64"]),
    ("seed=range(1, 4)", ["1", "2", "3"]),
])
def test_sweep_values_cover_choices_and_both_ends_of_an_interval(override, values):
    assert sweeps.sweep_values(OverridesParser.create().parse_override(override)) == values


OPTUNA = "hydra_plugins.hydra_optuna_sweeper.optuna_sweeper.OptunaSweeper"


def sweeper(**keys) -> object:
    return OmegaConf.create({"_target_": OPTUNA, "direction": "minimize", "n_trials": 4, **keys})


def test_search_space_of_the_optuna_sweeper_only():
    space = sweeper(params={"optimizer.lr": "tag(log, interval(1e-4, 1e-1))"})
    assert sweeps.search_space(space) == ["optimizer.lr=tag(log, interval(1e-4, 1e-1))"]
    basic = OmegaConf.create({"_target_": "hydra._internal.core_plugins.basic_sweeper.BasicSweeper",
                              "max_batch_size": None, "params": None})
    assert sweeps.search_space(basic) == []


def trainer(monitor: str, mode: str) -> object:
    return OmegaConf.create({"trainer": {"monitor": monitor, "monitor_mode": mode}})


@pytest.mark.parametrize(("space", "cfg", "args", "expected"), [
    (sweeper(), trainer("val_loss", "min"), [], "add -m"),
    (sweeper(n_trials=0), trainer("val_loss", "min"), ["-m"], "`hydra.sweeper.n_trials`"),
    (sweeper(), trainer("val_accuracy", "max"), ["-m"], "Add hydra.sweeper.direction=maximize"),
    (sweeper(direction="maximize"), trainer("val_loss", "min"), ["--multirun"],
     "Add hydra.sweeper.direction=minimize"),
])
def test_check_sweep_refuses_what_the_optuna_sweeper_gets_wrong(space, cfg, args, expected):
    with pytest.raises(ConfigError, match=expected.replace(".", r"\.")):
        sweeps.check_sweep(space, cfg, args)


def test_check_sweep_accepts_a_matching_search_and_other_sweepers():
    sweeps.check_sweep(sweeper(), trainer("val_loss", "min"), ["-m"])
    sweeps.check_sweep(sweeper(direction="maximize"), trainer("val_dice", "max"), ["-m"])
    sweeps.check_sweep(sweeper(), trainer("val_loss", "min"), ["--cfg", "job"])  # shows only
    sweeps.check_sweep(OmegaConf.create({"_target_": "BasicSweeper"}), trainer("x", "max"), [])
