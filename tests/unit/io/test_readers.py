"""Input readers of `cnnkit predict`: folders of images, .npy batches, NIfTI volumes."""

from __future__ import annotations

import nibabel as nib
import numpy as np
import pytest
from PIL import Image

from cnnkit.data.pipeline import Preprocessing
from cnnkit.errors import DataError
from cnnkit.io.readers import load_array_inputs, load_inputs

GRAY = Preprocessing([8, 8, 1], [8, 8, 1], 255.0, normalize="none")


def test_a_folder_of_pngs_reads_in_raw_units_with_relative_ids(tmp_path):
    (tmp_path / "sub").mkdir()
    Image.fromarray(np.full((5, 7), 255, "uint8")).save(tmp_path / "sub" / "b.png")
    Image.fromarray(np.zeros((6, 4), "uint8")).save(tmp_path / "a.png")
    images, infos = load_inputs(tmp_path, GRAY)
    assert [i.id for i in infos] == ["a.png", "sub/b.png"]
    assert [i.size for i in infos] == [(6, 4), (5, 7)]  # each at its own size
    assert images[1].shape == (5, 7, 1) and images[1].max() == pytest.approx(255.0)


def test_a_npy_batch_gets_its_channel_axis_and_numbered_ids(tmp_path):
    np.save(tmp_path / "x.npy", np.ones((3, 8, 8), "float64"))
    x, infos = load_array_inputs(tmp_path / "x.npy", GRAY)
    assert x.shape == (3, 8, 8, 1) and x.dtype == np.float32
    assert [i.id for i in infos] == ["x_0", "x_1", "x_2"]


def test_a_npy_of_the_wrong_shape_names_the_expected_one(tmp_path):
    np.save(tmp_path / "x.npy", np.ones((3, 5), "float32"))
    with pytest.raises(DataError, match=r"has shape \(3, 5\)\. Expected \(N, 8, 8, 1\) or \(N, 8, 8\)"):
        load_inputs(tmp_path / "x.npy", GRAY)


def test_a_nifti_volume_keeps_its_affine(tmp_path):
    affine = np.diag([0.5, 0.7, 2.5, 1.0])
    nib.save(nib.Nifti1Image(np.ones((4, 5, 6), "float32"), affine), tmp_path / "v.nii.gz")
    volumes, infos = load_inputs(tmp_path / "v.nii.gz",
                                 Preprocessing([4, 5, 6, 1], [4, 5, 6, 1], 1.0, normalize="none"))
    assert volumes[0].shape == (4, 5, 6, 1)
    assert infos[0].id == "v.nii.gz" and infos[0].size == (4, 5, 6)
    np.testing.assert_allclose(infos[0].affine, affine)


def test_an_empty_folder_is_a_clear_error(tmp_path):
    with pytest.raises(DataError, match="holds no NIfTI files"):
        load_inputs(tmp_path, GRAY)


def test_predict_reads_a_folder_and_a_npy_a_chunk_at_a_time(tmp_path):
    from cnnkit.io.readers import input_chunks

    for i in range(5):
        Image.fromarray(np.full((8, 8), 10 * i, "uint8")).save(tmp_path / f"{i}.png")
    chunks = list(input_chunks(tmp_path, GRAY, chunk=2))
    assert [len(images) for images, _ in chunks] == [2, 2, 1]
    assert [i.id for _, infos in chunks for i in infos] == [f"{i}.png" for i in range(5)]
    assert [float(images[0].max()) for images, _ in chunks] == [0.0, 20.0, 40.0]
    np.save(tmp_path / "x.npy", np.arange(5 * 64).reshape(5, 8, 8))
    arrays = list(input_chunks(tmp_path / "x.npy", GRAY, chunk=2))
    assert [x.shape for x, _ in arrays] == [(2, 8, 8, 1), (2, 8, 8, 1), (1, 8, 8, 1)]
    assert [i.id for _, infos in arrays for i in infos] == [f"x_{i}" for i in range(5)]
    assert arrays[2][0][0, 0, 0, 0] == 4 * 64
