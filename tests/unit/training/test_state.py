"""The saved training state: a consistent pair at every instant, legacy runs converted."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import keras
import numpy as np

from cnnkit.training.state import STATE, TrainingState, read_state, save_state

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "rundir_v1"


def compiled():
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2)])
    model.compile(optimizer=keras.optimizers.Adam(0.01), loss="mse")
    model.fit(np.ones((4, 3)), np.zeros((4, 2)), verbose=0)
    return model


def test_each_epoch_replaces_the_previous_weights_only_after_its_state(tmp_path):
    model = compiled()
    save_state(tmp_path, model, TrainingState(1))
    save_state(tmp_path, model, TrainingState(2, callbacks={"X": {"wait": 1}}))
    files = sorted(p.name for p in (tmp_path / "checkpoints").iterdir())
    assert files == ["epoch-0002.weights.h5", "state.json"]  # no temporary files left either
    state = read_state(tmp_path)
    assert (state.epoch, state.weights, state.callbacks) == (
        2, "checkpoints/epoch-0002.weights.h5", {"X": {"wait": 1}})


def test_weights_and_every_optimizer_variable_come_back(tmp_path):
    model = compiled()
    save_state(tmp_path, model, TrainingState(1))
    fresh = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2)])
    fresh.compile(optimizer=keras.optimizers.Adam(0.01), loss="mse")
    read_state(tmp_path).load_into(tmp_path, fresh, phase=0)
    assert int(fresh.optimizer.iterations) == int(model.optimizer.iterations) == 1
    for a, b in zip(model.optimizer.variables, fresh.optimizer.variables, strict=True):
        np.testing.assert_array_equal(np.asarray(a), np.asarray(b))
    for a, b in zip(model.get_weights(), fresh.get_weights(), strict=True):
        np.testing.assert_array_equal(a, b)


def test_a_new_phase_takes_the_weights_but_not_the_old_optimizer(tmp_path):
    save_state(tmp_path, compiled(), TrainingState(1, phase=0))
    fresh = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2)])
    fresh.compile(optimizer=keras.optimizers.SGD(0.1, momentum=0.9), loss="mse")  # other slots
    read_state(tmp_path).load_into(tmp_path, fresh, phase=1)
    assert int(fresh.optimizer.iterations) == 0


def test_no_state_is_none_and_a_corrupt_one_is_named(tmp_path):
    assert read_state(tmp_path) is None
    (tmp_path / STATE).parent.mkdir()
    (tmp_path / STATE).write_text("{not json")
    try:
        read_state(tmp_path)
    except Exception as error:  # RunDirError: one line naming the file
        assert "state.json" in str(error)
    else:
        raise AssertionError("a corrupt state must be refused")


def test_a_keras_backup_of_an_old_run_becomes_a_state(tmp_path):
    run = Path(shutil.copytree(FIXTURES / "interrupted", tmp_path / "run"))
    state = read_state(run)
    assert state.epoch == 2 and state.weights.endswith("latest.weights.h5")
    assert [r["epoch"] for r in state.callbacks["HistoryWriter"]["rows"]] == [1, 2]
    json.dumps(state.callbacks)  # what the engine saves back must stay JSON
