"""Intensity transforms change the input only."""

from __future__ import annotations

import numpy as np
import pytest

from cnnkit.augment import build_augmentation
from tests.unit.augment.cases import INTENSITY, SEED, l_shaped_mask


@pytest.mark.parametrize("rank", [1, 2, 3])
@pytest.mark.parametrize("name", INTENSITY)
def test_intensity_transforms_change_the_input_only(name: str, rank: int) -> None:
    mask = l_shaped_mask(rank)
    image = 0.2 + 0.6 * mask.astype("float32") / 2
    aug = build_augmentation({"transforms": [{"name": name, "p": 1.0}]}, "mask", 0)
    x, y = aug.apply_batch(image, mask, SEED)
    np.testing.assert_array_equal(y.numpy(), mask)
    assert x.shape == image.shape
    assert not np.allclose(x.numpy(), image), f"{name} left the image unchanged"
