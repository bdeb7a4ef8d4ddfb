"""The EMA warm-up: the decay follows (1 + t) / (10 + t) up to the configured one."""

import keras
import pytest

from cnnkit.training.ema import HOOK, warmed_decay


def test_the_decay_starts_low_and_reaches_the_configured_one():
    assert [float(warmed_decay(0.999, t)) for t in (0, 90, 8990, 10**6)] == pytest.approx(
        [0.1, 0.91, 0.999, 0.999])


def test_keras_still_has_the_hook_the_warm_up_wraps():
    assert callable(getattr(keras.optimizers.SGD(use_ema=True), HOOK))
