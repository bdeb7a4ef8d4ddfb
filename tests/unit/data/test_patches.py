"""Training on patches: windows cut with their masks, seeded by (seed, epoch), balanced
sampling on foreground, validation tiles covering every pixel, padding, 3D."""

from __future__ import annotations

import numpy as np
import pytest
import tensorflow as tf
from omegaconf import OmegaConf

from cnnkit.data.patches import PatchSampling, grid_starts, patch_sampling
from cnnkit.data.pipeline import Preprocessing, build_pipeline, steps_per_epoch
from cnnkit.errors import ConfigError


def coded_split(n: int = 6, shape: tuple[int, ...] = (20, 24)) -> tuple[np.ndarray, np.ndarray]:
    """Images whose value at each pixel is its flat index + 1000 x the image index, and masks
    holding the same numbers: a patch of one must equal the patch of the other."""
    size = int(np.prod(shape))
    x = np.stack([np.arange(size).reshape(*shape, 1) + 1000 * i for i in range(n)])
    return x.astype("float32"), x.astype("int32")


def prep(shape: tuple[int, ...], patch: tuple[int, ...]) -> Preprocessing:
    return Preprocessing(raw_shape=[*shape, 1], target_shape=[*patch, 1], value_max=1.0,
                         normalize="none", patch_shape=list(patch))


def first_epoch(split: tuple[np.ndarray, np.ndarray], sampling: PatchSampling, seed: int = 3,
                epoch: int = 0) -> tuple[np.ndarray, np.ndarray]:
    shape = split[0].shape[1:-1]
    ds = build_pipeline(split, prep(shape, sampling.size), 4, True, seed, cache="memory",
                        target_kind="mask", start_epoch=epoch, patches=sampling)
    steps = steps_per_epoch(split, 4, sampling.per_image)
    batches = list(ds.take(steps).as_numpy_iterator())
    return np.concatenate([b[0] for b in batches]), np.concatenate([b[1] for b in batches])


def test_grid_tiles_cover_every_pixel_the_last_shifted_inside() -> None:
    assert grid_starts([10, 8], (4, 8)) == [(0, 0), (4, 0), (6, 0)]
    assert grid_starts([3], (4,)) == [(0,)]  # smaller than the patch: one padded tile
    covered = np.zeros((23, 17), bool)
    for r, c in grid_starts([23, 17], (8, 5)):
        covered[r:r + 8, c:c + 5] = True
    assert covered.all()


def test_training_patches_are_cut_with_their_masks_and_mixed_across_images() -> None:
    split = coded_split()
    x, y = first_epoch(split, PatchSampling((8, 10), per_image=4))
    assert x.shape == (24, 8, 10, 1) and y.shape == (24, 8, 10, 1)
    np.testing.assert_array_equal(x, y.astype("float32"))  # the same window of both
    # each patch is a contiguous window of one image: rows step by the image width
    np.testing.assert_array_equal(np.diff(x[..., 0], axis=1), 24.0)
    images = (x[:, 0, 0, 0] // 1000).astype(int)
    assert sorted(np.bincount(images, minlength=6)) == [4] * 6
    assert len(set(images[:4])) > 1  # the first batch is not one image's four patches


def test_patches_depend_only_on_seed_and_epoch() -> None:
    split, sampling = coded_split(), PatchSampling((8, 10), per_image=3)
    a, _ = first_epoch(split, sampling, seed=3, epoch=2)
    b, _ = first_epoch(split, sampling, seed=3, epoch=2)
    c, _ = first_epoch(split, sampling, seed=3, epoch=1)
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)


def test_balanced_sampling_centres_patches_on_foreground() -> None:
    x = np.random.default_rng(0).integers(0, 255, (8, 64, 64, 1)).astype("float32")
    y = np.zeros((8, 64, 64, 1), "int32")
    y[:, 50:53, 5:8] = 1  # a small foreground spot
    hits = {}
    for mode, fraction in (("balanced", 1.0), ("uniform", 0.5)):
        _, masks = first_epoch((x, y), PatchSampling((16, 16), 4, mode, fraction))
        hits[mode] = float(np.mean(masks.reshape(len(masks), -1).max(1) > 0))
    assert hits["balanced"] == 1.0 and hits["uniform"] < 0.5


def test_validation_tiles_every_image_in_order_and_in_full() -> None:
    split = coded_split(n=2, shape=(20, 24))
    sampling = PatchSampling((8, 10), per_image=4)
    ds = build_pipeline(split, prep((20, 24), (8, 10)), 5, False, 0, cache="none",
                        target_kind="mask", patches=sampling)
    x = np.concatenate([b[0] for b in ds.as_numpy_iterator()])
    tiles = grid_starts([20, 24], (8, 10))
    assert len(x) == 2 * len(tiles) == 2 * sampling.per_example(False, [20, 24])
    whole = np.zeros((20, 24))
    for (r, c), patch in zip(tiles, x[len(tiles):], strict=True):
        whole[r:r + 8, c:c + 10] = patch[..., 0]
    np.testing.assert_array_equal(whole, split[0][1, ..., 0])


def test_random_validation_patches_are_the_same_every_time() -> None:
    split = coded_split(n=3)
    sampling = PatchSampling((8, 10), per_image=2, val_whole=False)

    def once() -> np.ndarray:
        ds = build_pipeline(split, prep((20, 24), (8, 10)), 4, False, 7, cache="none",
                            target_kind="mask", patches=sampling)
        return np.concatenate([b[0] for b in ds.as_numpy_iterator()])

    a = once()
    assert a.shape == (6, 8, 10, 1)
    np.testing.assert_array_equal(a, once())


def test_images_smaller_than_the_patch_are_zero_padded_masks_with_background() -> None:
    x = np.full((2, 6, 5, 1), 255.0, "float32")
    y = np.ones((2, 6, 5, 1), "int32")
    patches, masks = first_epoch((x, y), PatchSampling((8, 8), per_image=1))
    assert patches.shape == (2, 8, 8, 1)
    assert patches[:, :6, :5].min() == 255.0 and patches[:, 6:].max() == 0.0
    assert masks[:, :, 5:].max() == 0 and masks[:, :6, :5].min() == 1


def test_volume_patches_are_cut_along_three_axes() -> None:
    split = coded_split(n=2, shape=(12, 10, 14))
    x, y = first_epoch(split, PatchSampling((8, 8, 8), per_image=2))
    assert x.shape == (4, 8, 8, 8, 1)
    np.testing.assert_array_equal(x, y.astype("float32"))
    np.testing.assert_array_equal(np.diff(x[..., 0], axis=3), 1.0)


def test_statistics_are_computed_on_whole_images_when_training_on_patches() -> None:
    split = coded_split(n=3)
    fitted = Preprocessing(raw_shape=[20, 24, 1], target_shape=[8, 8, 1], value_max=1.0,
                           patch_shape=[8, 8]).fit(tf.data.Dataset.from_tensor_slices(split))
    np.testing.assert_allclose(fitted.mean, [split[0].mean()], rtol=1e-5)
    assert fitted.stats_examples == 3 and fitted.frame_shape == [20, 24, 1]


def test_old_preprocessing_files_without_a_patch_load_as_whole_image_runs() -> None:
    saved = prep((20, 24), (8, 10)).to_dict()
    del saved["patch_shape"]
    assert Preprocessing.from_dict(saved).patch_shape is None


def test_patch_settings_are_checked_against_the_examples() -> None:
    cfg = OmegaConf.create({"patch_size": [96, 96, 96], "patches_per_image": 2})
    with pytest.raises(ConfigError, match=r"`data.patch_size` must give 2 .* \[96, 96, 96\]"):
        patch_sampling(cfg, [512, 512, 1])
    assert patch_sampling(OmegaConf.create({"patch_size": None}), [8, 8, 1]) is None
    assert patch_sampling(cfg, [100, 100, 100, 1]) == PatchSampling((96, 96, 96), per_image=2)


def test_patch_size_sets_the_model_input_and_the_steps_of_a_configured_run() -> None:
    from cnnkit.commands.validation import validated
    from cnnkit.config.compose import compose
    from cnnkit.data.build import prepare_data
    from cnnkit.tasks import get_task
    from cnnkit.tasks.model_config import complete_model_config

    cfg = validated(compose("train", [
        "data=shapes", "data.target=mask", "task=segmentation", "model=unet",
        "data.num_train=8", "data.num_val=4", "data.num_test=4", "data.batch_size=4",
        "data.patch_size=[16,16]", "data.patches_per_image=3"]))
    assert list(cfg.model.input_shape) == [32, 32, 1]  # the preset's, overridden by the patch
    data = prepare_data(cfg, "mask", input_shape=list(cfg.model.input_shape))
    prep = data.preprocessing
    assert prep.target_shape == [16, 16, 1] and prep.frame_shape == [32, 32, 1]
    assert prep.patch_shape == [16, 16]
    stream, steps = data.training_stream(lambda y: y)
    assert steps == 6  # 8 images x 3 patches / batch 4
    x, y = next(iter(stream))
    assert x.shape == (4, 16, 16, 1) and y.shape == (4, 16, 16, 1)
    complete_model_config(cfg, get_task(cfg.task, cfg), prep.target_shape, prep.class_names)
    assert list(cfg.model.input_shape) == [16, 16, 1]
