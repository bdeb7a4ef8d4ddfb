"""Optimizers from the config: clipping, EMA and accumulation reach Keras; mistakes are one line."""

from __future__ import annotations

import keras
import numpy as np
import pytest
from omegaconf import OmegaConf

from cnnkit.commands.validation import validated
from cnnkit.config.check import check_group
from cnnkit.config.compose import compose
from cnnkit.config.schema import TrainerSchema
from cnnkit.errors import ConfigError
from cnnkit.training.compile import OPTIMIZERS, OptimizerSchema, build_optimizer, check_optimizer

KERAS_CLASS = {"adam": "Adam", "adamw": "AdamW", "sgd": "SGD", "rmsprop": "RMSprop", "lion": "Lion"}


def configured(optimizer=None, trainer=None):
    """The `optimizer` and `trainer` groups checked as the validation pass checks them, without
    composing presets (Hydra takes a while): the schemas' defaults, then the keys given."""
    checked = {"optimizer": check_group(optimizer or {}, OptimizerSchema, "optimizer"),
               "trainer": check_group(trainer or {}, TrainerSchema, "trainer")}
    check_optimizer(checked["optimizer"], checked)
    return OmegaConf.create(checked["optimizer"]), OmegaConf.create(checked["trainer"])


def test_every_optimizer_has_a_preset_and_lion_its_own_learning_rate() -> None:
    assert sorted(KERAS_CLASS) == OPTIMIZERS.list()
    cfg = validated(compose("train", ["optimizer=lion"]), uses_data=False)
    opt_cfg, trainer = cfg.optimizer, cfg.trainer
    assert (opt_cfg.name, opt_cfg.lr) == ("lion", 1e-4)
    assert float(build_optimizer(opt_cfg, trainer, 10, 10).learning_rate) == pytest.approx(1e-4)


@pytest.mark.parametrize("clip", ["clipnorm", "global_clipnorm", "clipvalue"])
@pytest.mark.parametrize("name", sorted(KERAS_CLASS))
def test_every_optimizer_builds_with_each_kind_of_clipping(name, clip) -> None:
    opt_cfg, trainer = configured({"name": name, clip: 0.5})
    optimizer = build_optimizer(opt_cfg, trainer, 10, 10)
    assert type(optimizer).__name__ == KERAS_CLASS[name]
    assert getattr(optimizer, clip) == 0.5
    assert [getattr(optimizer, other) for other in ("clipnorm", "global_clipnorm", "clipvalue")
            if other != clip] == [None, None]


def test_sgd_momentum_nesterov_and_decoupled_weight_decay_reach_keras() -> None:
    optimizer = build_optimizer(*configured({"name": "sgd", "nesterov": True,
                                                        "weight_decay": 1e-4}), 10, 10)
    assert (optimizer.momentum, optimizer.nesterov, optimizer.weight_decay) == (0.9, True, 1e-4)
    adamw = build_optimizer(*configured({"name": "adamw", "weight_decay": 0.01}), 10, 10)
    assert adamw.weight_decay == 0.01


def test_ema_and_accumulation_reach_the_keras_optimizer() -> None:
    optimizer = build_optimizer(*configured(trainer={"ema": 0.99, "accumulate_steps": 4}), 10, 10)
    assert optimizer.use_ema and optimizer.ema_overwrite_frequency is None  # EMA at fit's end
    assert optimizer.ema_momentum == pytest.approx(0.99 ** 0.25)  # per batch: 0.99 per update
    assert optimizer.gradient_accumulation_steps == 4
    plain = build_optimizer(*configured(), 10, 10)
    assert not plain.use_ema and plain.gradient_accumulation_steps is None


@pytest.mark.parametrize(("optimizer", "trainer", "pattern"), [
    ({"clipnorm": 1, "global_clipnorm": 1}, {},
     r"`optimizer\.clipnorm=1\.0` and `optimizer\.global_clipnorm=1\.0` both clip"),
    ({"clipvalue": 1, "clipnorm": 2}, {}, r"Set one of optimizer\.clipnorm"),
    ({"schedule": "cosin"}, {}, r"`optimizer\.schedule`.*'cosin'.*Did you mean: cosine"),
    ({"milestones": [5, 2]}, {}, r"`optimizer\.milestones` must be increasing .* Received: \[5, 2\]"),
    ({"schedule": "multistep", "milestones": [3, 10]}, {}, r"before trainer\.epochs \(10\)"),
    ({"schedule": "multistep", "milestones": [2, 5], "warmup_epochs": 2}, {},
     r"after optimizer\.warmup_epochs \(2\)"),
    ({"schedule": "step", "step_epochs": 4}, {"epochs": 4}, r"less than trainer\.epochs \(4\)"),
    ({"schedule": "exponential", "gamma": 1.5}, {}, r"`optimizer\.gamma` must be less than 1"),
    ({"schedule": "cosine_restarts", "restart_epochs": 3, "t_mul": 0.5}, {},
     r"`optimizer\.t_mul` must be at least 1"),
    ({"schedule": "onecycle", "pct_start": 1}, {}, r"`optimizer\.pct_start` must be less than 1"),
    ({"warmup_epochs": 10}, {}, r"`optimizer\.warmup_epochs` must be less than trainer\.epochs"),
    ({"schedule": "cosine"}, {"reduce_lr_patience": 3}, r"reduce_lr_patience=3.*schedule=cosine"),
    ({"warmup_epochs": 1}, {"reduce_lr_patience": 3},
     r"reduce_lr_patience=3.*warmup_epochs=1 sets it every step while warming up"),
])
def test_mistakes_are_refused_in_one_line_before_tensorflow_runs(optimizer, trainer, pattern) -> None:
    with pytest.raises(ConfigError, match=pattern) as error:
        configured(optimizer, trainer)
    assert "\n" not in str(error.value)


@pytest.mark.parametrize(("schedule", "rates"), [
    # 10 epochs of 5 steps, lr 1e-3, keys unset: derived from the run's length
    ("step", {0: 1e-3, 14: 1e-3, 15: 1e-4, 30: 1e-5}),  # every 3 epochs, x0.1
    ("multistep", {0: 1e-3, 24: 1e-3, 25: 1e-4, 40: 1e-5}),  # at epochs 5 and 8
    ("exponential", {0: 1e-3, 25: 1e-4, 50: 1e-5}),  # down to 1% at the end
    ("cosine_restarts", {0: 1e-3, 5: 5e-4, 10: 1e-3}),  # first period 2 epochs, then a restart
])
def test_schedules_run_with_defaults_from_the_run_length(schedule, rates) -> None:
    opt_cfg, trainer = configured({"schedule": schedule})
    rate = build_optimizer(opt_cfg, trainer, 5, 10)._learning_rate
    for step, expected in rates.items():
        assert float(rate(step)) == pytest.approx(expected, rel=1e-4, abs=1e-9), (schedule, step)


def test_warm_up_with_a_constant_rate_is_accepted() -> None:
    opt_cfg, trainer = configured({"warmup_epochs": 2})
    schedule = build_optimizer(opt_cfg, trainer, 5, 10)._learning_rate
    assert [float(schedule(s)) for s in (0, 5, 10, 40)] == pytest.approx([0, 5e-4, 1e-3, 1e-3])


def test_a_fit_accumulates_keeps_an_ema_and_reloads_with_its_schedule(tmp_path) -> None:
    """Keras 3.15 under accumulation: schedules see batches, weights move every 2nd batch, the
    average is taken every batch, and the weights become the average when fit ends; the
    optimizer's config keeps the decay as given."""
    keras.utils.set_random_seed(0)
    x = np.random.default_rng(0).normal(size=(32, 3)).astype("float32")
    y = x.sum(axis=1, keepdims=True)
    opt_cfg, trainer = configured(
        {"name": "sgd", "lr": 0.1, "schedule": "step", "step_epochs": 1, "gamma": 0.5},
        {"epochs": 2, "accumulate_steps": 2, "ema": 0.81})
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(1)])
    optimizer = build_optimizer(opt_cfg, trainer, 4, 2)
    model.compile(optimizer=optimizer, loss="mse")
    seen = []  # (weights, learning rate) after every batch

    class Record(keras.callbacks.Callback):
        def on_train_batch_end(self, batch, logs=None):
            seen.append((np.concatenate([w.ravel() for w in model.get_weights()]),
                         float(optimizer.learning_rate)))

    model.fit(x, y, batch_size=8, epochs=2, verbose=0, callbacks=[Record()])
    weights = [w for w, _ in seen]
    assert [np.array_equal(a, b) for a, b in zip(weights, weights[1:], strict=False)] == [False, True] * 3 + [False]
    assert int(optimizer.iterations) == 4  # updates; the schedule ran on 8 batches:
    assert [lr for _, lr in seen] == pytest.approx([0.1] * 3 + [0.05] * 4 + [0.025])
    average = weights[0]
    for index, w in enumerate(weights[1:], start=1):  # momentum 0 until the first update is done
        updates = index // 2  # then the warmed-up decay of cnnkit.training.ema, capped at 0.9
        momentum = min(0.9, (1 + updates) / (10 + updates)) if updates else 0.0
        average = momentum * average + (1 - momentum) * w
    final = np.concatenate([w.ravel() for w in model.get_weights()])
    np.testing.assert_allclose(final, average, rtol=1e-5)
    assert not np.allclose(final, weights[-1])
    assert optimizer.get_config()["ema_momentum"] == pytest.approx(0.9)

    model.save(tmp_path / "model.keras")
    again = keras.models.load_model(tmp_path / "model.keras")
    assert again.optimizer._learning_rate.get_config() == optimizer._learning_rate.get_config()
    assert float(again.optimizer.learning_rate) == pytest.approx(0.025)
