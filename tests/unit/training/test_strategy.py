"""The device line names the strategy in plain words (multi-worker: test_distribute.py's workers);
`trainer.steps_per_execution`: `auto` picks the steps per call from the model's FLOPs, and no
number may carry one epoch into the next."""

from __future__ import annotations

import pytest

from cnnkit.commands.validation import validated
from cnnkit.config.compose import compose
from cnnkit.errors import ConfigError
from cnnkit.training.strategy import (
    EXECUTION_FLOPS,
    DevicePolicy,
    multi_worker_requested,
    steps_per_execution,
)

DEFAULT_CNN_ON_DIGITS = 1_816_832  # forward FLOPs of one 8x8 digit through conf/model/default.yaml


def test_one_device_is_said_plainly() -> None:
    import tensorflow as tf

    policy = DevicePolicy(tf.distribute.get_strategy(), jit_compile=False, mixed_precision=False, gpus=0)
    assert policy.describe() == "one device, no distribution; CPU; XLA off; float32"


def test_mirrored_names_its_devices() -> None:
    import tensorflow as tf

    policy = DevicePolicy(tf.distribute.MirroredStrategy(), jit_compile=True, mixed_precision=False, gpus=0)
    assert policy.describe() == "1 CPU device on this machine (MirroredStrategy); XLA on; float32"


@pytest.mark.parametrize(("mode", "tf_config", "expected"), [
    ("auto", "", False), ("auto", '{"cluster": {}}', True), ("none", '{"cluster": {}}', False),
    ("multi_worker", "", True), ("mirrored", '{"cluster": {}}', False),
])
def test_multi_worker_is_requested_by_key_or_by_tf_config(
        monkeypatch: pytest.MonkeyPatch, mode: str, tf_config: str, expected: bool) -> None:
    monkeypatch.setenv("TF_CONFIG", tf_config)
    assert multi_worker_requested(mode) is expected


def test_a_number_that_divides_the_epoch_is_taken_as_given() -> None:
    assert steps_per_execution(1, DEFAULT_CNN_ON_DIGITS, 32, 41) == 1
    assert steps_per_execution(8, DEFAULT_CNN_ON_DIGITS, 32, 40) == 8


@pytest.mark.parametrize("value", [3, 64])
def test_a_number_that_would_run_into_the_next_epoch_is_refused_with_the_divisors(value) -> None:
    with pytest.raises(ConfigError, match=rf"must divide the 40 steps of an epoch.*Received: {value}\. "
                                          r"Expected one of: 1, 2, 4, 5, 8, 10, 20, 40, or auto"):
        steps_per_execution(value, DEFAULT_CNN_ON_DIGITS, 32, 40)


def test_auto_gives_a_small_model_several_steps_and_a_large_one_each_its_own() -> None:
    # 3 x 1.82 MFLOP x 32 images = 174 MFLOP a step: 46 make 8 GFLOP, so the whole epoch of 40,
    # and of 469 (7 x 67) steps the divisor below 46
    assert steps_per_execution("auto", DEFAULT_CNN_ON_DIGITS, 32, 40) == 40
    assert steps_per_execution("auto", DEFAULT_CNN_ON_DIGITS, 32, 469) == 7
    assert steps_per_execution("auto", 37_417_472, 128, 469) == 1  # the 468k CNN of the bench
    assert steps_per_execution("auto", int(EXECUTION_FLOPS) // 6 + 1, 1, 10) == 2


def test_auto_runs_at_most_one_epoch_per_call_and_one_step_when_it_cannot_do_better() -> None:
    assert steps_per_execution("auto", 1_000, 8, 6) == 6
    assert steps_per_execution("auto", DEFAULT_CNN_ON_DIGITS, 32, 47) == 1  # a prime epoch
    assert steps_per_execution("auto", 0, 32, 40) == 1  # FLOPs the summary cannot count


def test_auto_is_the_default_and_other_words_are_refused() -> None:
    assert validated(compose("train", [])).trainer.steps_per_execution == "auto"
    assert validated(compose("train", ["trainer.steps_per_execution=8"])).trainer.steps_per_execution == 8
    with pytest.raises(ConfigError, match=r"`trainer\.steps_per_execution`"):
        validated(compose("train", ["trainer.steps_per_execution=fast"]))
    with pytest.raises(ConfigError, match=r"`trainer\.steps_per_execution` must be at least 1"):
        validated(compose("train", ["trainer.steps_per_execution=0"]))


def test_mixed_precision_is_bfloat16_on_a_cpu_and_says_when_the_cpu_lacks_it(tmp_path, monkeypatch):
    import tensorflow as tf

    import cnnkit.training.strategy as strategy

    assert strategy.precision_policy(True, gpus=0) == "mixed_bfloat16"
    assert strategy.precision_policy(True, gpus=1) == "mixed_float16"
    assert strategy.precision_policy(False, gpus=0) == "float32"
    (tmp_path / "amx").write_text("processor\t: 0\nflags\t\t: fpu sse avx512f amx_bf16 amx_tile\n")
    (tmp_path / "old").write_text("processor\t: 0\nflags\t\t: fpu sse avx2\n")
    assert strategy.cpu_has_bfloat16(str(tmp_path / "amx")) is True
    assert strategy.cpu_has_bfloat16(str(tmp_path / "old")) is False
    assert strategy.cpu_has_bfloat16(str(tmp_path / "absent")) is None
    monkeypatch.setattr(strategy, "cpu_has_bfloat16", lambda: False)
    policy = DevicePolicy(tf.distribute.get_strategy(), jit_compile=False, mixed_precision=True, gpus=0)
    assert policy.describe().startswith("one device, no distribution; CPU; XLA off; mixed_bfloat16 "
                                        "(this CPU has no bfloat16 units")


def test_auto_mixed_precision_is_bfloat16_only_on_a_cpu_with_bfloat16_units_and_a_large_step():
    from cnnkit.training.strategy import auto_mixed_precision

    assert auto_mixed_precision(gpus=0, small=False, has_bfloat16=True)  # AMX, 28x28 at batch 128
    assert not auto_mixed_precision(gpus=0, small=False, has_bfloat16=False)  # emulated: slower
    assert not auto_mixed_precision(gpus=0, small=True, has_bfloat16=True)  # digits: casts cost more
    assert not auto_mixed_precision(gpus=0, small=None, has_bfloat16=True)  # size not known yet
    assert auto_mixed_precision(gpus=1, small=True, has_bfloat16=None)  # float16 on any GPU


def test_threads_auto_is_one_per_op_for_small_steps_only():
    from cnnkit.training.strategy import intra_op_threads, small_step

    def threads(value, batch, shape):
        return intra_op_threads(value, small_step(batch, shape))

    assert threads("auto", 32, [8, 8, 1]) == 1  # the default CNN on digits: 2,048 values
    assert threads("auto", 128, [28, 28, 1]) is None  # 100,352: TensorFlow's default
    assert threads("auto", 32, None) is None  # not known before TensorFlow starts
    assert threads(3, 32, [8, 8, 1]) == 3


def test_explicit_threads_are_refused_once_tensorflow_runs_and_auto_keeps_its_pools():
    import tensorflow as tf

    from cnnkit.training.strategy import set_intra_op_threads

    tf.constant(1.0) + 1.0  # TensorFlow has run in this process
    current = tf.config.threading.get_intra_op_parallelism_threads()
    other = current + 1
    with pytest.raises(ConfigError, match=rf"`trainer.threads={other}` needs a process where"):
        set_intra_op_threads(other, explicit=True)
    assert set_intra_op_threads(other, explicit=False) is None
    assert set_intra_op_threads(None, explicit=False) is None
