"""The device line names the strategy in plain words (multi-worker: test_distribute.py's workers)."""

from __future__ import annotations

import pytest

from cnnkit.training.strategy import DevicePolicy, multi_worker_requested


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
