"""The run's callbacks: what each decides, and that each one's memory survives a resume."""

from __future__ import annotations

import json

import keras
import numpy as np
import pytest
from omegaconf import OmegaConf

from cnnkit.training import callbacks as cb
from cnnkit.training.engine import build_callbacks


def config(**trainer):
    return OmegaConf.create({"seed": 1, "trainer": {
        "monitor_mode": "auto", "early_stopping_patience": 0, "reduce_lr_patience": 0,
        "tensorboard": False, **trainer}})


def tiny_model(optimizer=None, dropout: bool = False):
    layers = [keras.Input((3,)), keras.layers.Dense(4)]
    if dropout:
        layers.append(keras.layers.Dropout(0.5))
    model = keras.Sequential([*layers, keras.layers.Dense(1)])
    model.compile(optimizer=optimizer or keras.optimizers.SGD(0.1), loss="mse")
    return model


def test_callbacks_come_in_dependency_order_with_the_state_saver_last(tmp_path):
    run = build_callbacks(tmp_path, config(early_stopping_patience=2, reduce_lr_patience=1,
                                           max_time="1h", ema=0.9), "val_accuracy")
    kinds = [type(c).__name__ for c in run.all]
    assert kinds == ["HoldInterrupts", "ReseedLayers", "ValidateOnEma", "RequireLogged",
                     "HistoryWriter", "BestModelCheckpoint", "EarlyStop", "Plateau", "TimeBudget",
                     "StateSaver"]
    assert run.checkpoint.mode == "max" and run.checkpoint.path == tmp_path / "checkpoints" / "best.keras"
    assert run.all[-1].callbacks.keys() == {"HistoryWriter", "BestModelCheckpoint", "EarlyStop",
                                            "Plateau"}


def test_an_interrupt_at_an_epochs_end_waits_for_the_saved_state(tmp_path):
    """SIGTERM while history.csv gets its row (before the state is saved) lands after the save."""
    import os
    import signal

    from cnnkit.training.interrupts import interrupts_as_keyboard_interrupt
    from cnnkit.training.state import read_state

    model = tiny_model()
    model.compile(optimizer="sgd", loss="mse")
    run = build_callbacks(tmp_path, config(), "loss")

    class SignalDuringHistory(keras.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            os.kill(os.getpid(), signal.SIGTERM)

    after = run.all.index(run.history) + 1
    callbacks = [*run.all[:after], SignalDuringHistory(), *run.all[after:]]
    for callback in callbacks:
        callback.set_model(model)
    with interrupts_as_keyboard_interrupt(), pytest.raises(KeyboardInterrupt):
        for callback in callbacks:
            callback.on_epoch_end(0, {"loss": 1.0})
    assert read_state(tmp_path) is not None and read_state(tmp_path).epoch == 1


def test_early_stopping_counts_only_improvements_beyond_min_delta_and_resumes_its_count():
    stop = cb.EarlyStop("val_loss", "min", patience=2, min_delta=0.1)
    stop.set_model(tiny_model())
    for epoch, loss in enumerate([1.0, 0.95]):  # 0.05 better: not an improvement
        stop.on_epoch_end(epoch, {"val_loss": loss})
    assert stop.wait == 1 and not stop.stopped
    resumed = cb.EarlyStop("val_loss", "min", patience=2, min_delta=0.1)
    resumed.set_model(stop.model)
    resumed.restore(json.loads(json.dumps(stop.state())))  # as saved in state.json
    resumed.on_epoch_end(2, {"val_loss": 0.92})
    assert resumed.stopped and resumed.model.stop_training and resumed.best_epoch == 0


def test_early_stopping_watches_any_metric_in_its_own_direction(tmp_path):
    run = build_callbacks(tmp_path, config(early_stopping_patience=1,
                                           early_stopping_monitor="val_accuracy"), "val_loss")
    stop = next(c for c in run.all if isinstance(c, cb.EarlyStop))
    assert (stop.monitor, stop.mode) == ("val_accuracy", "max")


def test_plateau_lowers_the_learning_rate_by_its_factor_after_patience():
    plateau = cb.Plateau("loss", "min", patience=2, factor=0.25)
    plateau.set_model(tiny_model())
    for epoch in range(3):
        plateau.on_epoch_end(epoch, {"loss": 1.0})
    assert cb.current_lr(plateau.model) == pytest.approx(0.025)


def test_history_keeps_resumed_rows_and_rewrites_the_csv(tmp_path):
    first = cb.HistoryWriter(tmp_path / "history.csv")
    first.set_model(tiny_model())
    first.on_epoch_end(0, {"loss": 2.0})
    again = cb.HistoryWriter(tmp_path / "history.csv")
    again.set_model(first.model)
    again.restore(json.loads(json.dumps(first.state())))
    again.on_epoch_end(1, {"loss": 1.0})
    again.on_epoch_end(1, {"loss": 0.5})  # an epoch rerun replaces its row
    lines = (tmp_path / "history.csv").read_text().splitlines()
    assert lines[0] == "epoch,loss,learning_rate" and [r.split(",")[:2] for r in lines[1:]] == [
        ["1", "2.0"], ["2", "0.5"]]


def test_time_budget_stops_when_the_next_epoch_would_overrun(monkeypatch):
    clock = iter([0.0, 0.0, 40.0, 90.0])  # built, fit begins, two epochs end
    monkeypatch.setattr(cb.time, "monotonic", lambda: next(clock))
    budget = cb.TimeBudget(120)
    budget.set_model(tiny_model())
    budget.on_train_begin()
    budget.on_epoch_end(0)  # 40 s + 40 s expected < 120 s
    assert not budget.stopped
    budget.on_epoch_end(1)  # 90 s + 45 s > 120 s
    assert budget.stopped and budget.model.stop_training and cb.stop_reason([budget]) == "max_time"


def test_layers_random_streams_depend_only_on_seed_and_epoch():
    model = tiny_model(dropout=True)
    reseed = cb.ReseedLayers(seed=5)
    reseed.set_model(model)
    (generator,) = cb.seed_generators(model)
    reseed.on_epoch_begin(3)
    at_three = generator.state.numpy().copy()
    keras.random.uniform((2,), seed=generator)  # the stream moves on during the epoch
    reseed.on_epoch_begin(3)
    np.testing.assert_array_equal(generator.state.numpy(), at_three)
    reseed.on_epoch_begin(4)
    assert not np.array_equal(generator.state.numpy(), at_three)


def test_ema_swap_is_exact_and_validation_sees_the_averages():
    model = tiny_model(keras.optimizers.SGD(0.1, use_ema=True, ema_momentum=0.5))
    x, y = np.ones((8, 3), "float32"), np.zeros((8, 1), "float32")
    model.fit(x, y, epochs=2, verbose=0)
    raw = [w.copy() for w in model.get_weights()]
    averages = [keras.ops.convert_to_numpy(v) for v in model.optimizer._model_variables_moving_average]
    with cb.ema_weights(model):
        inside = model.get_weights()
    for a, b in zip(inside, averages, strict=False):
        np.testing.assert_array_equal(a, b)
    for a, b in zip(model.get_weights(), raw, strict=True):
        np.testing.assert_array_equal(a, b)  # swapped back bit for bit
    swap = cb.ValidateOnEma()
    swap.set_model(model)
    swap.on_test_begin()
    np.testing.assert_array_equal(model.get_weights()[0], averages[0])
    swap.on_test_end()
    np.testing.assert_array_equal(model.get_weights()[0], raw[0])
