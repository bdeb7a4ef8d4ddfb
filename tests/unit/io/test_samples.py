"""Samples as files: the .npy in the data's raw units and shape (what `cnnkit predict` reads),
a grid PNG, and one PNG per sample."""

from __future__ import annotations

import numpy as np
from PIL import Image

from cnnkit.data.pipeline import Preprocessing
from cnnkit.io.readers import load_array_inputs
from cnnkit.io.samples import grid, write_samples

FASHION = Preprocessing(raw_shape=[28, 28, 1], target_shape=[28, 28, 1], value_max=255.0,
                        normalize="rescale")


def test_npy_is_uint8_n_by_28_by_28_and_reads_back_as_predict_input(tmp_path):
    images = np.linspace(0, 1, 3 * 28 * 28, dtype="float32").reshape(3, 28, 28, 1)
    write_samples(images, tmp_path / "s.npy", FASHION, 8)
    raw = np.load(tmp_path / "s.npy")
    assert raw.dtype == np.uint8 and raw.shape == (3, 28, 28)
    assert raw.min() == 0 and raw.max() == 255
    inputs, infos = load_array_inputs(tmp_path / "s.npy", FASHION)
    assert inputs.shape == (3, 28, 28, 1) and len(infos) == 3


def test_npy_goes_back_to_the_raw_size_and_float_units(tmp_path):
    resized = Preprocessing(raw_shape=[40, 40, 1], target_shape=[28, 28, 1], value_max=1.0)
    write_samples(np.full((2, 28, 28, 1), 0.5, "float32"), tmp_path / "s.npy", resized, 8)
    raw = np.load(tmp_path / "s.npy")
    assert raw.dtype == np.float32 and raw.shape == (2, 40, 40)
    np.testing.assert_allclose(raw, 0.5, atol=1e-5)


def test_grid_and_folder(tmp_path):
    images = np.random.default_rng(0).random((10, 28, 28, 1)).astype("float32")
    assert grid(images, 4).shape == (3 * 30 + 2, 4 * 30 + 2)  # 2-pixel gaps
    write_samples(images, tmp_path / "g.png", FASHION, 4)
    assert Image.open(tmp_path / "g.png").size == (122, 92)
    write_samples(images, tmp_path / "each", FASHION, 4)
    files = sorted(p.name for p in (tmp_path / "each").iterdir())
    assert len(files) == 10 and files[0] == "sample_0000.png"
    assert np.asarray(Image.open(tmp_path / "each" / files[0])).shape == (28, 28)
