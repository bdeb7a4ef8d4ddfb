"""Applying a list of transforms: one example as a batch of one, targets moved by kind, seeded
reproducibility, presets, transforms on a subset of the batch, fused affine warps."""

from __future__ import annotations

import numpy as np
import pytest
import tensorflow as tf
import yaml

from cnnkit.augment import build_augmentation
from tests.unit.augment.cases import (
    CONF,
    GEOMETRIC,
    SEED,
    STRONG,
    l_shaped_mask,
    one_transform,
    supports,
)


@pytest.mark.parametrize("name", GEOMETRIC)
def test_single_example_call_matches_a_batch_of_one(name: str) -> None:
    mask = l_shaped_mask(2)[:1]
    aug = build_augmentation(one_transform(name, 2), "mask", 3)
    x1, y1 = aug(mask[0].astype("float32"), mask[0], SEED)
    xb, yb = aug.apply_batch(mask.astype("float32"), mask, SEED)
    np.testing.assert_allclose(x1.numpy(), xb.numpy()[0], atol=1e-6)
    np.testing.assert_array_equal(y1.numpy(), yb.numpy()[0])


def test_dict_targets_move_each_head_by_its_kind() -> None:
    mask = l_shaped_mask(2)
    aug = build_augmentation({"transforms": [{"name": "rotate90", "p": 1.0}]},
                             {"seg": "mask", "cls": "label"}, 0)
    x, y = aug.apply_batch(mask.astype("float32"), {"seg": mask, "cls": np.array([1, 2])}, SEED)
    np.testing.assert_array_equal(x.numpy(), y["seg"].numpy().astype("float32"))
    np.testing.assert_array_equal(y["cls"].numpy(), [1, 2])


def test_clean_image_targets_move_but_are_not_noised() -> None:
    image = l_shaped_mask(2).astype("float32")
    aug = build_augmentation({"transforms": [{"name": "horizontal_flip", "p": 1.0},
                                             {"name": "gaussian_noise", "p": 1.0, "std": 0.2}]},
                             "image", 0)
    x, y = aug.apply_batch(image, image, SEED)
    np.testing.assert_array_equal(y.numpy(), image[:, :, ::-1])
    assert np.abs(x.numpy() - y.numpy()).mean() > 0.05


def test_same_seed_same_result_other_seed_other_result() -> None:
    cfg = yaml.safe_load((CONF / "strong.yaml").read_text())
    image = np.random.default_rng(0).uniform(size=(4, 16, 16, 1)).astype("float32")
    labels = np.arange(4)
    first = build_augmentation(cfg, "label", 42).apply_batch(image, labels, SEED)[0].numpy()
    again = build_augmentation(cfg, "label", 42).apply_batch(image, labels, SEED)[0].numpy()
    other = build_augmentation(cfg, "label", 42).apply_batch(
        image, labels, tf.constant([8, 11], tf.int64))[0].numpy()
    np.testing.assert_array_equal(first, again)
    assert not np.allclose(first, other)


@pytest.mark.parametrize("preset", ["light", "strong"])
@pytest.mark.parametrize("rank", [2, 3])
def test_presets_run_on_images_and_volumes_with_masks(preset: str, rank: int) -> None:
    cfg = yaml.safe_load((CONF / f"{preset}.yaml").read_text())
    mask = l_shaped_mask(rank)
    x, y = build_augmentation(cfg, "mask", 0).apply_batch(mask.astype("float32"), mask, SEED)
    assert x.shape == mask.shape and y.shape == mask.shape
    assert set(np.unique(y.numpy())) <= {0, 1, 2}


def test_signals_shift_scale_and_noise() -> None:
    signal = np.sin(np.linspace(0, 6, 64, dtype="float32"))[None, :, None].repeat(2, 0)
    cfg = {"transforms": [{"name": "shift", "p": 1.0, "translate": [0.1, 0.1]},
                          {"name": "scale", "p": 1.0, "factor": [2.0, 2.0]},
                          {"name": "gaussian_noise", "p": 1.0, "std": 0.0}]}
    x, _ = build_augmentation(cfg, "label", 0).apply_batch(signal, np.zeros(2), SEED)
    # shifted by 6.4 samples (the shift points backwards in input coordinates), then doubled
    np.testing.assert_allclose(x.numpy()[0, 10:50, 0], 2 * np.interp(
        np.arange(10, 50) - 6.4, np.arange(64), signal[0, :, 0]), atol=1e-4)


@pytest.mark.parametrize("rank", [2, 3])
def test_transforms_with_probability_change_some_examples_and_keep_masks_aligned(rank: int) -> None:
    mask = np.concatenate([l_shaped_mask(rank)] * 4)  # 8 examples
    names = [n for n in GEOMETRIC if supports(n, rank)]
    for name in names:
        cfg = one_transform(name, rank, interpolation="nearest")
        cfg["transforms"][0]["p"] = 0.5
        x, y = build_augmentation(cfg, "mask", 0).apply_batch(mask.astype("float32"), mask, SEED)
        np.testing.assert_array_equal(x.numpy(), y.numpy().astype("float32"))
        changed = [not np.array_equal(y.numpy()[i], mask[i]) for i in range(len(mask))]
        assert 0 < sum(changed) < len(mask), f"{name}: {changed}"


@pytest.mark.parametrize("rank", [2, 3])
@pytest.mark.parametrize("interpolation", ["nearest", "bilinear"])
def test_fused_affine_warps_equal_the_transforms_applied_one_by_one(rank: int, interpolation: str) -> None:
    """Flips, quarter turns and affine maps in a row are resampled once, as one composed map;
    the result must be what applying each transform's own warp in turn gives."""
    rng = np.random.default_rng(0)
    image = rng.random((6, *([12] * rank), 2)).astype("float32")
    affine = {"name": "affine", "p": 0.7, "interpolation": interpolation, **STRONG["affine"]}
    aug = build_augmentation({"transforms": [{"name": "flip", "p": 0.5},
                                             {"name": "rotate90", "p": 0.7}, affine]}, "label", 0)
    assert len(aug._steps(rank)) == 1, "the three warps should fuse into one step"
    fused, _ = aug.apply_batch(image, np.zeros(6, "int32"), SEED)
    x = tf.constant(image)
    for index, transform in enumerate(aug.transforms):
        step_seed = tf.random.experimental.stateless_fold_in(SEED, index)  # as apply_batch draws
        params, active = transform.sample(step_seed, 6, [12] * rank)
        moved = transform.warp(x, params, transform.interpolation)
        x = tf.where(tf.reshape(active, [-1] + [1] * (rank + 1)), moved, x)
    assert not np.allclose(x.numpy(), image)
    np.testing.assert_allclose(fused.numpy(), x.numpy(), atol=1e-4)
