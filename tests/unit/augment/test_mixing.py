"""Mixup and cutmix: soft labels, on batches only."""

from __future__ import annotations

import numpy as np
import pytest
import tensorflow as tf

from cnnkit.augment import build_augmentation, needs_one_hot
from cnnkit.errors import DataError
from tests.unit.augment.cases import SEED


def test_mixup_and_cutmix_make_soft_labels_on_batches_only() -> None:
    cfg = {"transforms": [{"name": "mixup", "p": 1.0}, {"name": "cutmix", "p": 1.0}]}
    assert needs_one_hot(cfg) and not needs_one_hot({"transforms": [{"name": "flip"}]})
    assert not needs_one_hot(None)
    aug = build_augmentation(cfg, "label", 0)
    images = np.random.default_rng(1).uniform(size=(8, 16, 16, 3)).astype("float32")
    labels = tf.one_hot(np.arange(8) % 4, 4)
    x, y = aug.apply_batch(images, labels, SEED)
    np.testing.assert_allclose(y.numpy().sum(-1), 1.0, atol=1e-5)
    assert (y.numpy().max(-1) < 1.0).any()  # some labels are mixed
    x1, y1 = aug(images[0], labels[0], SEED)  # one example: nothing to mix with
    np.testing.assert_array_equal(x1.numpy(), images[0])
    with pytest.raises(DataError, match="mixup needs one-hot labels"):
        aug.apply_batch(images, np.arange(8), SEED)
