"""precheck: what `cnnkit train` validates before Hydra starts, sweeps and their presets included."""

from __future__ import annotations

import pytest

from cnnkit.commands.launch import precheck
from cnnkit.config.compose import translate_overrides
from cnnkit.errors import ConfigError
from tests.extras import needs_joblib, needs_optuna


def check(*args: str) -> None:
    precheck(translate_overrides(list(args)))


def test_every_value_of_a_basic_sweep_is_validated():
    check("-m", "optimizer.lr=1e-3,1e-2")
    with pytest.raises(ConfigError, match="`trainer.epochs` must be at least 1"):
        check("-m", "trainer.epochs=2,0")


@needs_optuna
def test_the_optuna_preset_and_sweeper_overrides_pass():
    check("-m", "hparams_search=optuna", "hydra.sweeper.n_trials=4", "trainer.epochs=1",
          "data=digits", "hydra.sweep.dir=/tmp/sw", "hydra.sweeper.storage=sqlite:///optuna.db")
    check("-m", "hparams_search=optuna", "optimizer.weight_decay=interval(0, 1e-3)")


@needs_optuna
@pytest.mark.parametrize(("args", "expected"), [
    (["optimizer.lrr=interval(1e-4, 1e-2)"], "Did you mean: lr?"),   # the search space's keys
    (["optimizer.lr=interval(-1, 1)"], "`optimizer.lr` must be greater than 0"),  # and bounds
    (["data.batch_size=choice(0, 32)"], "`data.batch_size` must be at least 1"),
    (["hydra.sweeper.n_trials=0"], "`hydra.sweeper.n_trials` must be an integer of at least 1"),
    (["trainer.monitor=val_accuracy", "trainer.monitor_mode=max"],
     "Add hydra.sweeper.direction=maximize"),
])
def test_the_optuna_search_space_is_validated_before_any_trial(args, expected):
    with pytest.raises(ConfigError, match=expected.replace(".", r"\.").replace("?", r"\?")):
        check("-m", "hparams_search=optuna", *args)


@needs_optuna
def test_the_optuna_preset_without_multirun_is_refused():
    with pytest.raises(ConfigError, match="add -m"):
        check("hparams_search=optuna")


@needs_joblib
def test_the_joblib_launcher_composes():
    check("-m", "hydra/launcher=joblib", "hydra.launcher.n_jobs=2", "optimizer.lr=1e-3,1e-2")
