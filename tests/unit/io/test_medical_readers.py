"""`cnnkit predict` inputs in medical formats: .mha/.nrrd volumes and DICOM series keep their
geometry into the written outputs, 2D DICOM files read windowed as in training."""

from __future__ import annotations

import nibabel as nib
import numpy as np
import pytest
import SimpleITK as sitk

from cnnkit.data.medical import write_itk_volume
from cnnkit.data.pipeline import Preprocessing
from cnnkit.io.image_files import write_array
from cnnkit.io.readers import input_chunks, load_inputs
from tests.medical_files import write_dicom, write_series

VOLUME = Preprocessing([4, 5, 6, 1], [4, 5, 6, 1], 1.0, normalize="none")
GEOMETRY = {"spacing": [0.5, 0.6, 2.0], "origin": [1.0, 2.0, 3.0],
            "direction": [1.0, 0, 0, 0, 0, -1.0, 0, 1.0, 0]}


def test_a_mha_input_is_predicted_into_a_mha_with_its_geometry(tmp_path):
    volume = np.arange(4 * 5 * 6, dtype="float32").reshape(4, 5, 6)
    (tmp_path / "in").mkdir()
    write_itk_volume(volume, GEOMETRY, tmp_path / "in" / "case.mha")
    volumes, infos = load_inputs(tmp_path / "in", VOLUME)
    assert np.array_equal(volumes[0][..., 0], volume) and infos[0].id == "case.mha"
    written = write_array((volumes[0] > 50).astype("uint8"), infos[0], tmp_path / "out", "auto", 1)
    assert written.name == "case.mha"
    image = sitk.ReadImage(str(written))
    assert image.GetSpacing() == pytest.approx(GEOMETRY["spacing"])
    assert image.GetOrigin() == pytest.approx(GEOMETRY["origin"])
    assert image.GetDirection() == pytest.approx(GEOMETRY["direction"])
    assert np.array_equal(sitk.GetArrayFromImage(image).transpose(2, 1, 0), volume > 50)


def test_a_dicom_series_folder_is_one_volume_written_as_nifti_with_its_affine(tmp_path):
    volume = np.arange(4 * 5 * 6, dtype="int16").reshape(4, 5, 6)
    write_series(tmp_path / "series1", volume, spacing=(0.5, 0.7, 2.0))
    chunks = list(input_chunks(tmp_path / "series1", VOLUME))
    (volumes, infos), = chunks
    assert len(volumes) == 1 and infos[0].id == "series1" and infos[0].size == (4, 5, 6)
    assert np.array_equal(volumes[0][..., 0], volume)
    written = write_array(np.zeros((4, 5, 6, 1), "uint8"), infos[0], tmp_path / "out", "auto", 1)
    assert written.name == "series1.nii.gz"
    assert np.allclose(nib.load(written).affine, [[-0.5, 0, 0, -10], [0, -0.7, 0, 20],
                                                  [0, 0, 2.0, 30], [0, 0, 0, 1]])


def test_2d_dicom_inputs_read_with_the_training_window_and_write_png(tmp_path):
    write_dicom(tmp_path / "a.dcm", np.array([[0, 500], [1000, 2000]], "int16"))
    gray = Preprocessing([2, 2, 1], [2, 2, 1], 65535.0, normalize="none")
    images, infos = load_inputs(tmp_path, gray, window=[500, 1000])
    # window [0, 1000]: 500 is half way up the 16-bit range, 2000 clipped to the top
    np.testing.assert_allclose(images[0][..., 0], [[0, 32768], [65535, 65535]], atol=1)
    written = write_array(np.ones((2, 2, 1), "float32"), infos[0], tmp_path / "out", "auto", 255)
    assert written.name == "a.png"
