"""tfds and keras.datasets sources: read prepared local copies; fail in seconds when missing."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from cnnkit.config.compose import compose
from cnnkit.data.pipeline import as_dataset
from cnnkit.data.sources import load_source
from cnnkit.errors import ConfigError, DataError


def store_tiny_tfds(data_dir: Path, name: str = "tiny_digits") -> None:
    """A 3-class dataset of 8x8 gray images written with tfds itself."""
    import tensorflow as tf
    import tensorflow_datasets as tfds

    rng = np.random.default_rng(0)
    x = rng.integers(0, 255, (30, 8, 8, 1), dtype=np.uint8)
    y = np.arange(30) % 3
    features = tfds.features.FeaturesDict({
        "image": tfds.features.Image(shape=(8, 8, 1)),
        "label": tfds.features.ClassLabel(names=["a", "b", "c"]),
    })
    splits = {s: tf.data.Dataset.from_tensor_slices({"image": x[i::2], "label": y[i::2]})
              for i, s in enumerate(("train", "test"))}
    tfds.dataset_builders.store_as_tfds_dataset(
        name=name, version="1.0.0", features=features, split_datasets=splits, data_dir=data_dir)


def load(*overrides: str):
    return load_source(compose("train", list(overrides)).data)


def test_tfds_reads_a_locally_stored_dataset_with_split_slices(tmp_path):
    store_tiny_tfds(tmp_path)
    data = load("data=tfds", "data.name=tiny_digits", f"data.data_dir={tmp_path}",
                "data.splits.train='train[:60%]'", "data.splits.val='train[60%:]'")
    counts = {k: sum(1 for _ in as_dataset(v)) for k, v in data.splits.items()}
    assert counts == {"train": 9, "val": 6, "test": 15}
    assert data.class_names == ["a", "b", "c"] and data.value_max == 255
    x, y = next(iter(data.splits["train"]))
    assert x.shape == (8, 8, 1) and int(y) in (0, 1, 2)
    resized = load("data=tfds", "data.name=tiny_digits", f"data.data_dir={tmp_path}",
                   "data.image_size=16")
    assert next(iter(resized.splits["test"]))[0].shape == (16, 16, 1)
    with pytest.raises(ConfigError, match=r"`data\.splits\.test` names a split .*Splits: "):
        load("data=tfds", "data.name=tiny_digits", f"data.data_dir={tmp_path}",
             "data.splits.test=validation")
    with pytest.raises(ConfigError, match=r"`data\.label_key` .*Features: image, label"):
        load("data=tfds", "data.name=tiny_digits", f"data.data_dir={tmp_path}",
             "data.label_key=digit")


def test_tfds_missing_dataset_fails_at_once_saying_how_to_prepare_it(tmp_path):
    start = time.perf_counter()
    with pytest.raises(DataError, match=r"'mnist' is not prepared in .*tfds build mnist"):
        load("data=tfds", "data.name=mnist", f"data.data_dir={tmp_path}")
    assert time.perf_counter() - start < 5


def test_keras_dataset_missing_from_the_cache_names_the_file(tmp_path, monkeypatch):
    monkeypatch.setenv("KERAS_HOME", str(tmp_path))
    with pytest.raises(DataError, match=r"datasets/fashion-mnist/train-labels-idx1-ubyte\.gz"):
        load("data=keras", "data.name=fashion_mnist")
    with pytest.raises(ConfigError, match=r"Did you mean: cifar10"):
        load("data=keras", "data.name=cifar11")


def test_keras_mnist_is_read_from_the_cache_even_when_re_saved(tmp_path, monkeypatch,
                                                               shared_data):
    (tmp_path / "datasets").mkdir()  # the shared mnist.npz differs from the official checksum
    (tmp_path / "datasets" / "mnist.npz").symlink_to(shared_data / "mnist" / "mnist.npz")
    monkeypatch.setenv("KERAS_HOME", str(tmp_path))
    data = load("data=keras")
    assert {k: v[0].shape for k, v in data.splits.items()} == {
        "train": (54000, 28, 28, 1), "val": (6000, 28, 28, 1), "test": (10000, 28, 28, 1)}
    assert data.value_max == 255 and data.class_names[9] == "9"


def test_check_source_fails_before_tensorflow_is_imported(tmp_path):
    """Commands call check_source first: a missing dataset must not wait for TensorFlow."""
    code = f"""
import sys
from cnnkit.config.compose import compose
from cnnkit.data.sources import check_source
cfg = compose("train", ["data=tfds", "data.name=mnist", "data.data_dir={tmp_path}"])
try:
    check_source(cfg.data)
except Exception as error:
    print(type(error).__name__, "tensorflow" in sys.modules)
"""
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert out.stdout.split() == ["DataError", "False"], out.stderr
