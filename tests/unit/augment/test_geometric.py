"""Geometric transforms (flips, quarter turns, warps): masks move with images in 1D, 2D and 3D,
boxes move with flips and quarter turns."""

from __future__ import annotations

import numpy as np
import pytest
import tensorflow as tf

from cnnkit.augment import build_augmentation
from cnnkit.errors import DataError
from tests.unit.augment.cases import GEOMETRIC, SEED, l_shaped_mask, one_transform, supports


@pytest.mark.parametrize("rank", [1, 2, 3])
@pytest.mark.parametrize("name", GEOMETRIC)
def test_every_geometric_transform_moves_the_mask_with_the_image(name: str, rank: int) -> None:
    if not supports(name, rank):
        aug = build_augmentation(one_transform(name, rank), "mask", 0)
        mask = l_shaped_mask(rank)
        with pytest.raises(DataError, match=f"{name} works on"):
            aug.apply_batch(mask.astype("float32"), mask, SEED)
        return
    mask = l_shaped_mask(rank)
    image = mask.astype("float32")  # the mask drawn into the image
    # Nearest-neighbour for the image too: then the two must coincide exactly.
    aug = build_augmentation(one_transform(name, rank, interpolation="nearest"), "mask", 0)
    moved = []
    for seed in range(3):
        x, y = aug.apply_batch(image, mask, tf.constant([seed, 1], tf.int64))
        assert y.dtype == tf.int32 and y.shape == mask.shape
        np.testing.assert_array_equal(x.numpy(), y.numpy().astype("float32"))
        moved.append(not np.array_equal(y.numpy(), mask))
    assert any(moved), f"{name} never moved the mask"
    # Default (bilinear) image interpolation: image and mask still agree away from edges.
    aug = build_augmentation(one_transform(name, rank), "mask", 0)
    x, y = aug.apply_batch(image, mask, SEED)
    inside_image, inside_mask = x.numpy() > 0.5, y.numpy() > 0
    iou = (inside_image & inside_mask).sum() / (inside_image | inside_mask).sum()
    assert iou > 0.85, f"{name}: IoU {iou:.3f}"


def boxes_of(images: np.ndarray) -> np.ndarray:
    """Normalised x1, y1, x2, y2 of the bright pixels of each (H, W, 1) image."""
    out = []
    for image in images:
        rows, cols = np.nonzero(image[..., 0] > 0.5)
        h, w = image.shape[:2]
        out.append([cols.min() / w, rows.min() / h, (cols.max() + 1) / w, (rows.max() + 1) / h])
    return np.array(out, "float32")


@pytest.mark.parametrize("name", ["flip", "horizontal_flip", "vertical_flip", "rotate90"])
def test_boxes_move_with_flips_and_quarter_turns(name: str) -> None:
    images = np.zeros((3, 20, 20, 1), "float32")
    images[0, 4:15, 2:9] = 1
    images[1, 1:6, 10:19] = 1
    images[2, 12:18, 5:7] = 1
    boxes = boxes_of(images)
    aug = build_augmentation({"transforms": [{"name": name, "p": 1.0}]}, "boxes", 0)
    for seed in range(4):
        x, moved = aug.apply_batch(images, boxes, tf.constant([seed, 5], tf.int64))
        np.testing.assert_allclose(moved.numpy(), boxes_of(x.numpy()), atol=1e-6)
