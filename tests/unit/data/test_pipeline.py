"""The tf.data pipeline: targets prepared by kind, augmentation seeded and training-only,
standardisation after augmentation, one-hot labels for mixup."""

from __future__ import annotations

import numpy as np
import tensorflow as tf

from cnnkit.augment import build_augmentation
from cnnkit.data.pipeline import Preprocessing, build_pipeline, steps_per_epoch


def preprocessing(raw: list[int], target: list[int], normalize: str = "rescale") -> Preprocessing:
    return Preprocessing(raw_shape=raw, target_shape=target, value_max=255.0, normalize=normalize,
                         mean=[100.0 / 255], std=[50.0 / 255], class_names=["a", "b", "c"])


def test_masks_resize_with_nearest_neighbour_and_keep_their_dtype() -> None:
    mask = np.zeros((8, 8, 1), "uint8")
    mask[2:5, 2:6] = 2
    mask[5:, :3] = 1
    out = preprocessing([8, 8, 1], [16, 16, 1]).prepare_target(tf.constant(mask), "mask")
    assert out.shape == (16, 16, 1) and out.dtype == tf.uint8
    np.testing.assert_array_equal(out.numpy(), mask.repeat(2, 0).repeat(2, 1))


def test_volume_masks_resize_along_all_three_axes() -> None:
    mask = np.arange(2 * 3 * 4).reshape(2, 3, 4, 1).astype("int32")
    out = preprocessing([2, 3, 4, 1], [4, 6, 8, 1]).prepare_target(tf.constant(mask), "mask")
    np.testing.assert_array_equal(out.numpy(), mask.repeat(2, 0).repeat(2, 1).repeat(2, 2))


def test_image_targets_are_scaled_and_resized_but_not_standardised() -> None:
    prep = preprocessing([4, 4, 1], [8, 8, 1], normalize="standardize")
    clean = np.full((4, 4, 1), 255.0, "float32")
    out = prep.prepare_target(tf.constant(clean), "image")
    assert out.shape == (8, 8, 1)
    np.testing.assert_allclose(out.numpy(), 1.0)  # [0, 1], not (1 - mean) / std


def test_labels_boxes_and_values_pass_unchanged_also_inside_dicts() -> None:
    prep = preprocessing([4, 4, 1], [8, 8, 1])
    boxes = tf.constant([0.1, 0.2, 0.5, 0.6])
    np.testing.assert_array_equal(prep.prepare_target(boxes, "boxes").numpy(), boxes.numpy())
    out = prep.prepare_target({"box": boxes, "seg": tf.zeros((4, 4, 1), tf.int32)},
                              {"box": "boxes", "seg": "mask"})
    assert out["seg"].shape == (8, 8, 1)
    np.testing.assert_array_equal(out["box"].numpy(), boxes.numpy())


def segmentation_split(n: int = 24) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    masks = np.zeros((n, 16, 16, 1), "int32")
    for i in range(n):
        r, c = rng.integers(0, 8, size=2)
        masks[i, r : r + 6, c : c + 4] = 1 + i % 2
    return (masks * 100).astype("float32"), masks


def augmented_pipeline(seed: int, start_epoch: int | None = None) -> tf.data.Dataset:
    aug = build_augmentation({"transforms": [{"name": "rotation", "p": 1.0, "degrees": 30,
                                              "interpolation": "nearest"},
                                             {"name": "flip", "p": 0.5}]}, "mask", seed)
    return build_pipeline(segmentation_split(), preprocessing([16, 16, 1], [16, 16, 1]), 8,
                          training=True, seed=seed, augment_fn=aug, target_kind="mask",
                          start_epoch=start_epoch)


def test_strong_augmentation_keeps_static_shapes_for_the_model() -> None:
    import yaml

    from tests.unit.augment.cases import CONF

    aug = build_augmentation(yaml.safe_load((CONF / "strong.yaml").read_text()), "mask", 0)
    ds = build_pipeline(segmentation_split(), preprocessing([16, 16, 1], [16, 16, 1]), 8,
                        training=True, seed=0, augment_fn=aug, target_kind="mask")
    assert [spec.shape.as_list() for spec in ds.element_spec] == [[None, 16, 16, 1]] * 2


def epochs(ds: tf.data.Dataset, n: int = 2) -> list[list[tuple[np.ndarray, np.ndarray]]]:
    """`n` epochs of 3 batches from an endless training stream."""
    batches = [(x.numpy(), y.numpy()) for x, y in ds.take(3 * n)]
    return [batches[3 * i:3 * i + 3] for i in range(n)]


def test_augmented_training_pipeline_is_reproducible_and_moves_masks() -> None:
    first, again = epochs(augmented_pipeline(3, 0)), epochs(augmented_pipeline(3, 0))
    for epoch_a, epoch_b in zip(first, again, strict=True):
        for (xa, ya), (xb, yb) in zip(epoch_a, epoch_b, strict=True):
            np.testing.assert_array_equal(xa, xb)
            np.testing.assert_array_equal(ya, yb)
    # a new epoch draws new parameters; masks still sit under the drawn shapes
    assert not np.array_equal(first[0][0][0], first[1][0][0])
    for x, y in first[0]:
        np.testing.assert_allclose(x, y * 100 / 255, atol=1e-6)
    assert not np.array_equal(epochs(augmented_pipeline(4), 1)[0][0][0], first[0][0][0])


def test_evaluation_pipelines_are_never_augmented_and_are_standardised() -> None:
    x, y = segmentation_split()
    prep = preprocessing([16, 16, 1], [16, 16, 1], normalize="standardize")
    aug = build_augmentation({"transforms": [{"name": "flip", "p": 1.0}]}, "mask", 0)
    ds = build_pipeline((x, y), prep, 8, training=False, seed=0, augment_fn=aug, target_kind="mask")
    batch_x, batch_y = next(iter(ds))
    np.testing.assert_array_equal(batch_y.numpy(), y[:8])
    np.testing.assert_allclose(batch_x.numpy(), (x[:8] / 255 - 100 / 255) / (50 / 255), atol=1e-5)


def test_training_standardises_after_augmenting() -> None:
    x = np.full((8, 4, 4, 1), 255.0, "float32")
    prep = preprocessing([4, 4, 1], [4, 4, 1], normalize="standardize")
    # brightness in [0, 1] units before standardisation: +0.1 -> +0.1 / std afterwards
    aug = build_augmentation({"transforms": [{"name": "brightness", "p": 1.0, "delta": [0.1, 0.1]}]},
                             "label", 0)
    ds = build_pipeline((x, np.zeros(8, "int32")), prep, 8, training=True, seed=0, augment_fn=aug)
    batch_x, _ = next(iter(ds))
    np.testing.assert_allclose(batch_x.numpy(), (1.1 - 100 / 255) / (50 / 255), atol=1e-4)


def test_mixup_pipelines_get_soft_one_hot_labels() -> None:
    rng = np.random.default_rng(0)
    x = rng.uniform(0, 255, size=(16, 8, 8, 1)).astype("float32")
    y = np.arange(16) % 3
    aug = build_augmentation({"transforms": [{"name": "mixup", "p": 1.0}]}, "label", 0)
    prep = preprocessing([8, 8, 1], [8, 8, 1])
    train = build_pipeline((x, y), prep, 8, True, 0, augment_fn=aug, num_classes=3)
    val = build_pipeline((x, y), prep, 8, False, 0, num_classes=3)
    _, soft = next(iter(train))
    _, hard = next(iter(val))
    assert soft.shape == (8, 3) and hard.shape == (8, 3)
    np.testing.assert_allclose(soft.numpy().sum(-1), 1.0, atol=1e-5)
    np.testing.assert_array_equal(hard.numpy(), np.eye(3)[y[:8]])


def test_augmented_pipeline_keeps_its_length() -> None:
    ds = augmented_pipeline(0)  # 24 examples in batches of 8, augmented in one chunk
    assert int(ds.cardinality()) == 3 == len(list(ds))


def epoch_stream(start_epoch: int, augment: bool = True) -> list[np.ndarray]:
    """Two epochs of 10 examples in batches of 3, from `start_epoch` on."""
    x = np.arange(10, dtype="float32").reshape(10, 1, 1, 1) * 25
    aug = build_augmentation({"transforms": [{"name": "brightness", "p": 1.0, "delta": [0, 0.1]}]},
                             "label", 0) if augment else None
    ds = build_pipeline((x, np.arange(10)), preprocessing([1, 1, 1], [1, 1, 1]), 3, True, 7,
                        augment_fn=aug, start_epoch=start_epoch)
    return [xb.numpy().ravel() for xb, _ in ds.take(8)]


def test_training_stream_epochs_are_whole_passes_with_their_last_partial_batch() -> None:
    batches = epoch_stream(0, augment=False)
    assert [len(b) for b in batches] == [3, 3, 3, 1] * 2
    first, second = np.concatenate(batches[:4]), np.concatenate(batches[4:])
    assert sorted(first) == sorted(second) and not np.array_equal(first, second)  # reshuffled


def test_an_epochs_order_and_augmentation_depend_only_on_seed_and_epoch() -> None:
    """What makes a resumed run bit-identical: epoch 1 read from a stream started at epoch 1
    equals epoch 1 of a stream started at epoch 0 (no iterator state carried over)."""
    from_start, resumed = epoch_stream(0), epoch_stream(1)
    for a, b in zip(from_start[4:], resumed[:4], strict=True):
        np.testing.assert_array_equal(a, b)
    assert not np.array_equal(np.concatenate(from_start[:4]), np.concatenate(resumed[:4]))


def test_a_global_seed_of_0_builds_the_stream_and_keeps_it_reproducible() -> None:
    """TensorFlow's seed check cannot compare the epochs' tensor seeds when the global seed is 0
    (`cnnkit train seed=0` failed in Engine.fit)."""
    import keras

    keras.utils.set_random_seed(0)
    try:
        first, again, plain = epoch_stream(0), epoch_stream(0), epoch_stream(0, augment=False)
    finally:
        keras.utils.set_random_seed(42)
    for a, b in zip(first, again, strict=True):
        np.testing.assert_array_equal(a, b)
    one, two = np.concatenate(plain[:4]), np.concatenate(plain[4:])
    assert sorted(one) == sorted(two) and not np.array_equal(one, two)  # each epoch reshuffled


def test_steps_per_epoch_counts_a_stream_of_unknown_length() -> None:
    assert steps_per_epoch((np.zeros((10, 1)), np.zeros(10)), 3) == 4
    filtered = tf.data.Dataset.range(10).filter(lambda v: v % 2 == 0).map(lambda v: (v, v))
    assert steps_per_epoch(filtered, 2) == 3
