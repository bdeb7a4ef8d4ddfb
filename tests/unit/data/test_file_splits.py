"""Splits of files decoded as read: full permutations per epoch from (seed, epoch), decodes
counted per epoch for each cache mode, the memory budget choosing memory or disk."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import tensorflow as tf
from PIL import Image

from cnnkit.config.compose import compose
from cnnkit.data.build import prepare_data
from cnnkit.data.file_splits import DECODES

CLASSES = 10


def sorted_tree(root: Path, train_per_class: int, val_per_class: int) -> Path:
    """The ImageFolder layout, train/<class>/ and val/<class>/, listed class by class; each
    image's value encodes its class so batches can be checked after decoding."""
    for split, count in (("train", train_per_class), ("val", val_per_class)):
        for label in range(CLASSES):
            folder = root / split / f"c{label}"
            folder.mkdir(parents=True)
            for i in range(count):
                Image.fromarray(np.full((8, 8), 20 * label + 5, np.uint8)).save(folder / f"{i}.png")
    return root


@pytest.fixture(scope="module")
def tree(tmp_path_factory) -> Path:
    return sorted_tree(tmp_path_factory.mktemp("sorted"), train_per_class=40, val_per_class=4)


def prepared(tree: Path, *overrides: str):
    cfg = compose("train", ["data=folder", f"data.path={tree}", "data.test_fraction=0",
                            "data.normalize=none", "data.batch_size=32", "augment=none",
                            *overrides])
    return prepare_data(cfg, "label")


def first_epochs(data, epochs: int) -> list[np.ndarray]:
    """The labels of each batch of the first `epochs` epochs of the training stream."""
    stream, steps = data.training_stream(None)
    batches = [y.numpy() for _, y in stream.take(steps * epochs)]
    return [np.concatenate(batches[e * steps:(e + 1) * steps]) for e in range(epochs)], batches


def test_every_batch_of_a_class_sorted_folder_draws_from_nearly_every_class(tree):
    data = prepared(tree)
    (epoch0, epoch1), batches = first_epochs(data, 2)
    steps = len(batches) // 2
    assert steps == 13 and sorted(epoch0.tolist()) == sorted(np.repeat(range(CLASSES), 40))
    classes_per_batch = [len(set(b.tolist())) for b in batches[:steps - 1]]  # full batches
    assert min(classes_per_batch) >= 7, classes_per_batch  # 32 draws of 10 classes: ~9.6
    assert not np.array_equal(epoch0, epoch1)  # each epoch its own permutation
    again, _ = first_epochs(prepared(tree), 2)
    assert np.array_equal(again[0], epoch0) and np.array_equal(again[1], epoch1)
    other, _ = first_epochs(prepared(tree, "seed=7"), 1)
    assert not np.array_equal(other[0], epoch0)


def test_inputs_are_decoded_as_read_and_labels_travel_with_them(tree):
    data = prepared(tree, "data.cache=none")
    x, y = next(iter(data.training_stream(None)[0]))
    np.testing.assert_allclose(x.numpy()[:, 0, 0, 0] * 255, 20 * y.numpy() + 5, atol=0.5)


# `on_bad_file=skip` decodes every file through the Python reader, which counts its decodes
# (PNGs otherwise decode in TensorFlow's own ops, through the same pipeline)
COUNTED = "data.on_bad_file=skip"


@pytest.mark.parametrize("cache, decodes_per_epoch", [("none", [400, 400]), ("memory", [400, 0])])
def test_files_are_decoded_lazily_once_per_epoch_or_once_in_all(tree, cache, decodes_per_epoch):
    data = prepared(tree, f"data.cache={cache}", COUNTED)
    stream, steps = data.training_stream(None)
    counts = []
    batches = iter(stream)
    for _ in range(2):
        before = DECODES["count"]
        for _ in range(steps):
            next(batches)
        counts.append(DECODES["count"] - before)
    # tf.data reads ahead (prefetch, parallel maps) by at most a few batches
    for got, want in zip(counts, decodes_per_epoch, strict=True):
        assert abs(got - want) <= 3 * 32 + 16, counts


def test_disk_cache_decodes_once_and_later_runs_reuse_it(tree, tmp_path):
    overrides = ("data.cache=disk", f"data.cache_dir={tmp_path}", COUNTED)
    before = DECODES["count"]
    data = prepared(tree, *overrides)
    stream, steps = data.training_stream(None)
    list(stream.take(steps * 2))
    first_run = DECODES["count"] - before
    assert first_run == 400  # the pass that writes the cache; the epochs read records
    assert len(list(tmp_path.glob("*.records"))) == 1  # the training split's
    before = DECODES["count"]
    again = prepared(tree, *overrides)
    stream, steps = again.training_stream(None)
    labels = np.concatenate([y.numpy() for _, y in stream.take(steps)])
    assert DECODES["count"] - before == 0
    assert sorted(labels.tolist()) == sorted(np.repeat(range(CLASSES), 40))


def test_tensorflow_and_pillow_decode_the_same_pixels(tmp_path):
    rng = np.random.default_rng(0)
    for name, mode in (("gray", "L"), ("rgb", "RGB"), ("rgba", "RGBA"), ("palette", "P")):
        (tmp_path / name).mkdir()
        pixels = rng.integers(0, 255, (6, 7, 3 if mode != "L" else 1), dtype=np.uint8)
        image = Image.fromarray(pixels[..., 0] if mode == "L" else pixels).convert(mode)
        image.save(tmp_path / name / "a.png")
        image.save(tmp_path / name / "b.png")
    split = prepared(tmp_path, "data.val_fraction=0").source.split("train")
    assert split.branches.tolist() == [5] * 8  # every PNG through TensorFlow's decoder
    native = np.stack([x.numpy() for x, _ in split.dataset(tf.data.Dataset.range(len(split)))])
    np.testing.assert_array_equal(native, split.arrays()[0])  # Pillow, in Python


def test_a_file_tensorflow_cannot_decode_is_named(tree, tmp_path):
    import shutil

    from cnnkit.data.file_splits import read_error_behind

    shutil.copytree(tree / "train", tmp_path / "train")
    cut = tmp_path / "train" / "c3" / "0.png"
    cut.write_bytes(cut.read_bytes()[:-30])  # a header, pixels cut short
    data = prepared(tmp_path, "data.cache=none")
    with pytest.raises(tf.errors.InvalidArgumentError) as raised:
        list(data.training_stream(None)[0].take(13))
    found = read_error_behind(raised.value)
    assert found is not None and "c3/0.png" in str(found) and "on_bad_file=skip" in str(found)


def test_auto_takes_memory_within_the_budget_and_disk_beyond_it(tree, tmp_path):
    small = prepared(tree, "data.cache_budget_gb=0.000001", f"data.cache_dir={tmp_path}")
    assert small.cached_split("train")[1] == "disk"
    large = prepared(tree, "data.cache_budget_gb=1")
    assert large.cached_split("train")[1] == "memory"
    assert prepared(tree, "data.cache=false").cached_split("train")[1] == "none"
