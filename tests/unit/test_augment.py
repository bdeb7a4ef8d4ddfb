"""Augmentation: masks move with images under every geometric transform (2D and 3D), boxes move
with flips and quarter turns, intensity transforms leave targets alone, errors name the key."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import tensorflow as tf
import yaml

from cnnkit.data.augment import TRANSFORMS, build_augmentation, needs_one_hot
from cnnkit.errors import ConfigError, DataError

CONF = Path(__file__).resolve().parents[2] / "conf" / "augment"
GEOMETRIC = [n for n in TRANSFORMS.list() if TRANSFORMS.get(n).kind == "geometric"]
INTENSITY = [n for n in TRANSFORMS.list() if TRANSFORMS.get(n).kind == "intensity"]
# Parameters strong enough that every transform visibly moves the test mask.
STRONG = {
    "affine": {"degrees": 30, "scale": 0.2, "shear": 10, "translate": 0.1},
    "rotation": {"degrees": [25, 40]},
    "zoom": {"scale": [1.3, 1.5]},
    "translation": {"translate": [0.15, 0.25]},
    "shift": {"translate": [0.15, 0.25]},
    "shear": {"shear": [15, 25]},
    "random_resized_crop": {"scale": [0.3, 0.5]},
    "elastic": {"magnitude": 0.08},
}
SEED = tf.constant([7, 11], tf.int64)


def l_shaped_mask(rank: int) -> np.ndarray:
    """An asymmetric mask (no flip or rotation maps it onto itself), batch of 2, with labels 1, 2."""
    n = 32 if rank < 3 else 16
    mask = np.zeros((2, *([n] * rank), 1), "int32")
    s = n // 16
    if rank == 1:
        mask[:, 3 * s : 9 * s] = 1
        mask[:, 9 * s : 11 * s] = 2
    elif rank == 2:
        mask[:, 2 * s : 6 * s, 3 * s : 12 * s] = 1
        mask[:, 6 * s : 13 * s, 3 * s : 6 * s] = 2
    else:
        mask[:, 2:6, 3:12, 2:9] = 1
        mask[:, 6:13, 3:6, 2:5] = 2
    mask[1] = np.flip(mask[1], axis=0)  # a different example in the same batch
    return mask


def one_transform(name: str, rank: int, **extra: object) -> dict:
    params = {**STRONG.get(name, {}), **extra}
    if "interpolation" not in TRANSFORMS.get(name).defaults:
        params.pop("interpolation", None)
    return {"transforms": [{"name": name, "p": 1.0, **params}]}


def supports(name: str, rank: int) -> bool:
    transform = TRANSFORMS.get(name)(name, {**STRONG.get(name, {})}, "t")
    return rank in transform.ranks


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


@pytest.mark.parametrize("name", GEOMETRIC)
def test_single_example_call_matches_a_batch_of_one(name: str) -> None:
    mask = l_shaped_mask(2)[:1]
    aug = build_augmentation(one_transform(name, 2), "mask", 3)
    x1, y1 = aug(mask[0].astype("float32"), mask[0], SEED)
    xb, yb = aug.apply_batch(mask.astype("float32"), mask, SEED)
    np.testing.assert_allclose(x1.numpy(), xb.numpy()[0], atol=1e-6)
    np.testing.assert_array_equal(y1.numpy(), yb.numpy()[0])


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


def test_boxes_refuse_transforms_that_cannot_move_them() -> None:
    with pytest.raises(ConfigError, match=r"augment.transforms\[1\].name.*rotation cannot move box"):
        build_augmentation({"transforms": [{"name": "flip"}, {"name": "rotation"}]}, "boxes", 0)


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


def test_no_transforms_means_no_augmentation() -> None:
    assert build_augmentation({"transforms": []}, "label", 0) is None
    assert build_augmentation(None, "mask", 0) is None


@pytest.mark.parametrize(
    ("cfg", "kind", "match"),
    [
        ({"transforms": [{"name": "flip"}, {"name": "zoom"}, {"name": "rotaton"}]}, "label",
         r"`augment.transforms\[2\].name` names an unknown augmentation transform. Received: "
         r"'rotaton'.*Did you mean: rotation"),
        ({"transforms": [{"name": "rotation", "degres": 3}]}, "label",
         r"`augment.transforms\[0\].degres` is not a parameter of rotation.*Did you mean: degrees"),
        ({"transforms": [{"name": "flip", "p": 1.5}]}, "label",
         r"`augment.transforms\[0\].p` must be a probability in \[0, 1\]. Received: 1.5"),
        ({"transforms": [{"name": "zoom", "scale": [1.2, 0.8]}]}, "label",
         r"`augment.transforms\[0\].scale` must be a range with low <= high"),
        ({"transforms": [{"name": "affine", "fill_mode": "mirror"}]}, "label",
         r"`augment.transforms\[0\].fill_mode` must be one of reflect, constant, nearest, wrap"),
        ({"transforms": ["flip"]}, "label", r"`augment.transforms\[0\]` must be a mapping with a `name`"),
        ({"transform": []}, "label", r"`augment.transform` is not an augment setting.*transforms"),
        ({"where": "gpu", "transforms": []}, "label", r"`augment.where` must be one of pipeline, model"),
        ({"transforms": [{"name": "mixup"}]}, "mask", r"mixup mixes class labels; .* are mask"),
        ({"where": "model", "transforms": [{"name": "cutout"}]}, "label",
         r"`augment.transforms\[0\].name`: cutout runs in the input pipeline only"),
    ],
)
def test_config_errors_name_the_key(cfg: dict, kind: str, match: str) -> None:
    with pytest.raises(ConfigError, match=match):
        build_augmentation(cfg, kind, 0)


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
