"""Each learning-rate schedule at chosen steps, against values worked out by hand (closed form)."""

from __future__ import annotations

import math

import keras
import pytest
from omegaconf import OmegaConf

from cnnkit.config.check import check_group
from cnnkit.training.compile import OptimizerSchema, build_optimizer
from cnnkit.training.finetune import scaled_optimizer
from cnnkit.training.lr_schedule import EpochSchedule, build_learning_rate
from cnnkit.training.schedules import SCHEDULES

LR, SPE, EPOCHS = 0.1, 4, 10  # 4 steps an epoch, 40 steps in all


def optimizer(**keys):
    """An `optimizer` group as validation leaves it: the schema's defaults, then `keys`."""
    return OmegaConf.create(check_group({"lr": LR, **keys}, OptimizerSchema, "optimizer"))


def rates(opt_cfg, steps, spe=SPE, epochs=EPOCHS):
    schedule = build_learning_rate(opt_cfg, spe, epochs)  # a float when constant, no warm-up
    return [float(schedule(step) if callable(schedule) else schedule) for step in steps]


def half_cosine(fraction):
    return 0.5 * (1 + math.cos(math.pi * fraction))


CASES = {  # name -> (keys, {step: expected learning rate})
    "constant": ({}, {0: LR, 17: LR, 39: LR}),
    "step": ({"step_epochs": 3, "gamma": 0.5},  # drops at epochs 3, 6, 9 = steps 12, 24, 36
             {0: LR, 11: LR, 12: LR / 2, 23: LR / 2, 24: LR / 4, 39: LR / 8}),
    "multistep": ({"milestones": [2, 5]},  # gamma null: 0.1
                  {7: LR, 8: LR * 0.1, 19: LR * 0.1, 20: LR * 0.01, 39: LR * 0.01}),
    "exponential": ({"gamma": 0.5}, {0: LR, 2: LR * 0.5**0.5, 8: LR / 4, 40: LR * 0.5**10}),
    "cosine": ({"min_lr_ratio": 0.1},
               {0: LR, 10: LR * (0.1 + 0.9 * half_cosine(0.25)), 20: LR * 0.55, 40: LR * 0.1,
                60: LR * 0.1}),  # flat at the floor after the run
    # periods of 2, 4, 8 epochs: restarts at epochs 2 and 6 (steps 8 and 24), peaks x0.5 each
    "cosine_restarts": ({"restart_epochs": 2, "t_mul": 2.0, "m_mul": 0.5},
                        {0: LR, 4: LR / 2, 7: LR * half_cosine(7 / 8), 8: LR / 2,
                         16: LR / 2 * half_cosine(0.5), 24: LR / 4, 32: LR / 4 * half_cosine(0.25)}),
    # PyTorch's OneCycleLR: 40 steps, the peak at 0.3 x 40 - 1 = step 11, the floor at step 39
    "onecycle": ({}, {0: LR / 25, 11: LR, 39: LR / 25 / 1e4,
                      5: LR + (LR / 25 - LR) * half_cosine(5 / 11),
                      22: LR / 25e4 + (LR - LR / 25e4) * half_cosine(11 / 28)}),
}


def test_every_schedule_has_a_case() -> None:
    assert sorted(CASES) == SCHEDULES.list()


@pytest.mark.parametrize("name", sorted(CASES))
def test_the_rate_at_chosen_steps(name) -> None:
    keys, expected = CASES[name]
    got = rates(optimizer(schedule=name, **keys), list(expected))
    assert got == pytest.approx(list(expected.values()), rel=1e-5)


def test_cosine_restarts_matches_keras_sgdr_between_the_restarts() -> None:
    keys, _ = CASES["cosine_restarts"]
    keras_sgdr = keras.optimizers.schedules.CosineDecayRestarts(LR, 2 * SPE, t_mul=2.0, m_mul=0.5)
    steps = [1, 3, 6, 13, 21, 30, 38]
    assert rates(optimizer(schedule="cosine_restarts", **keys), steps) == pytest.approx(
        [float(keras_sgdr(s)) for s in steps], rel=1e-5)


@pytest.mark.parametrize("name", sorted(CASES))
def test_warm_up_ramps_linearly_into_any_schedule(name) -> None:
    keys = {**CASES[name][0], "milestones": [3, 5], "step_epochs": 3, "restart_epochs": 3}
    plain = optimizer(schedule=name, **keys)
    warm = optimizer(schedule=name, warmup_epochs=2, warmup_start_ratio=0.1, **keys)
    end = 2 * SPE  # warm-up ends at step 8: from there on the schedule is untouched
    (target,) = rates(plain, [end])
    start = 0.1 * LR
    assert rates(warm, [0, end // 2, end - 1]) == pytest.approx(
        [start, start + (target - start) / 2, start + (target - start) * (end - 1) / end], rel=1e-5)
    later = [end, 13, 27, 39]
    assert rates(warm, later) == pytest.approx(rates(plain, later), rel=1e-6)


def test_a_constant_rate_without_warm_up_stays_a_float_for_reduce_on_plateau() -> None:
    assert build_learning_rate(optimizer(), SPE, EPOCHS) == LR
    assert isinstance(build_learning_rate(optimizer(warmup_epochs=1), SPE, EPOCHS), EpochSchedule)


@pytest.mark.parametrize("name", sorted(CASES))
def test_the_schedule_round_trips_through_keras_serialisation(name) -> None:
    schedule = build_learning_rate(optimizer(schedule=name, warmup_epochs=1, **CASES[name][0]),
                                   SPE, EPOCHS)
    config = keras.saving.serialize_keras_object(schedule)
    assert config["registered_name"] == "cnnkit>EpochSchedule"
    again = keras.saving.deserialize_keras_object(config)
    assert again.get_config() == schedule.get_config()
    assert [float(again(s)) for s in (0, 9, 30)] == [float(schedule(s)) for s in (0, 9, 30)]


def test_fine_tuning_continues_the_schedule_at_lr_factor() -> None:
    """Phase two (fine_tune.at_epoch=6 of 10) continues the run's curve, times lr_factor."""
    opt_cfg = optimizer(schedule="multistep", milestones=[3, 8], warmup_epochs=1)
    trainer = OmegaConf.create({"epochs": EPOCHS, "accumulate_steps": 1, "ema": None})
    second = build_optimizer(scaled_optimizer(opt_cfg, 0.1), trainer, SPE, EPOCHS - 6)
    whole = build_learning_rate(opt_cfg, SPE, EPOCHS)
    steps = [0, 7, 8, 15]  # run epochs 6 to 9.75: the milestone at epoch 8 is phase-two step 8
    assert float(second.learning_rate) == pytest.approx(0.1 * float(whole(6 * SPE)))
    assert [float(second._learning_rate(s)) for s in steps] == pytest.approx(
        [0.1 * float(whole(s + 6 * SPE)) for s in steps], rel=1e-6)
    assert float(second._learning_rate(8)) == pytest.approx(LR * 0.01 * 0.1)
