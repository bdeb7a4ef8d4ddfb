"""`data=shapes` targets for every task: labels, masks (binary or per class), boxes, centres and
clean images for denoising, deterministic."""

from __future__ import annotations

import numpy as np
import pytest
from omegaconf import OmegaConf

from cnnkit.data.sources.shapes import generate_shapes, load_shapes_source
from cnnkit.errors import ConfigError


def shapes_cfg(**overrides):
    cfg = {"source": "shapes", "image_size": 16, "num_train": 12, "num_val": 0, "num_test": 4,
           "classes": ["circle", "square", "triangle"], "noise": 0.1, "seed": 3, "target": "label",
           "mask": "binary"}
    return OmegaConf.create({**cfg, **overrides})


def test_boxes_and_centres_enclose_the_mask_and_clean_images_have_no_noise():
    sample = generate_shapes(8, 16, ["circle", "square", "triangle"], 0.2, seed=1)
    for mask, box, centre in zip(sample["masks"], sample["boxes"], sample["centres"], strict=True):
        rows, cols = np.nonzero(mask[..., 0])
        assert box * 16 == pytest.approx([cols.min(), rows.min(), cols.max() + 1, rows.max() + 1])
        assert centre == pytest.approx([(box[0] + box[2]) / 2, (box[1] + box[3]) / 2])
    clean, noisy = sample["clean"], sample["images"]
    assert all(len(np.unique(c)) == 2 for c in clean)  # background and foreground levels only
    assert 0.1 < float(np.std(noisy - clean)) < 0.25


@pytest.mark.parametrize("target, shape", [("label", (12,)), ("mask", (12, 16, 16, 1)),
                                           ("boxes", (12, 4)), ("centre", (12, 2)),
                                           ("denoise", (12, 16, 16, 1))])
def test_each_target_has_its_shape_and_is_deterministic(target, shape):
    first = load_shapes_source(shapes_cfg(target=target)).splits["train"]
    again = load_shapes_source(shapes_cfg(target=target)).splits["train"]
    assert first[1].shape == shape
    np.testing.assert_array_equal(first[0], again[0])
    np.testing.assert_array_equal(first[1], again[1])


def test_class_masks_hold_one_plus_the_label():
    labels = load_shapes_source(shapes_cfg()).splits["train"][1]
    masks = load_shapes_source(shapes_cfg(target="mask", mask="classes")).splits["train"][1]
    for label, mask in zip(labels, masks, strict=True):
        assert set(np.unique(mask).tolist()) == {0, int(label) + 1}


def test_unknown_targets_are_named():
    with pytest.raises(ConfigError, match=r"`data.target` must be one of .*Did you mean: boxes"):
        load_shapes_source(shapes_cfg(target="boxs"))
    with pytest.raises(ConfigError, match=r"`data.mask` must be one of binary, classes"):
        load_shapes_source(shapes_cfg(target="mask", mask="multi"))
