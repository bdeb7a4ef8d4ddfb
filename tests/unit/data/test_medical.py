"""DICOM (pydicom) and MetaImage/NRRD (SimpleITK) reading: rescale and window, series order and
geometry, the same voxels as NIfTI, and one-line errors naming the file."""

from __future__ import annotations

import nibabel as nib
import numpy as np
import pytest
import SimpleITK as sitk

from cnnkit.config.compose import compose
from cnnkit.data.images import read_image
from cnnkit.data.medical import (
    decode_dicom,
    read_dicom_series,
    read_itk_volume,
    write_itk_volume,
)
from cnnkit.data.sources import load_source
from cnnkit.errors import ConfigError, DataError
from tests.medical_files import write_dicom, write_series


def test_rescale_is_applied_before_the_window(tmp_path):
    stored = np.array([[0, 100], [200, 300]], "int16")
    path = write_dicom(tmp_path / "a.dcm", stored, RescaleSlope=2, RescaleIntercept=-200,
                       WindowCenter=100, WindowWidth=400)  # values -200, 0, 200, 400
    array, size = decode_dicom(path)
    assert size == (2, 2) and array.dtype == np.uint16 and array.shape == (2, 2, 1)
    # window [-100, 300]: -200 clipped to 0, 0 -> 1/4, 200 -> 3/4, 400 clipped to the top
    assert array[..., 0].tolist() == [[0, round(65535 / 4)], [round(65535 * 3 / 4), 65535]]
    given, _ = decode_dicom(path, window=(0, 800))  # `data.window` overrides the file's
    assert given[0, 1, 0] == round(65535 / 2)


def test_without_a_window_the_stored_range_is_kept_and_monochrome1_inverted(tmp_path):
    stored = np.array([[-32768, 0, 32767]], "int16")
    plain, _ = decode_dicom(write_dicom(tmp_path / "a.dcm", stored))
    assert plain[0, :, 0].tolist() == [0, 32768, 65535]
    inverted, _ = decode_dicom(write_dicom(tmp_path / "b.dcm", stored,
                                           PhotometricInterpretation="MONOCHROME1"))
    assert inverted[0, :, 0].tolist() == [65535, 32767, 0]


def test_a_series_is_sorted_by_position_with_spacing_from_the_positions(tmp_path):
    volume = np.arange(4 * 3 * 5, dtype="int16").reshape(4, 3, 5)  # (i, j, k)
    write_series(tmp_path / "s", volume, spacing=(0.5, 0.7, 2.5), order=[3, 0, 4, 1, 2])
    read, geometry = read_dicom_series(tmp_path / "s")
    assert read.shape == (4, 3, 5, 1) and np.array_equal(read[..., 0], volume)
    assert geometry["spacing"] == pytest.approx([0.5, 0.7, 2.5])
    assert geometry["origin"] == pytest.approx([10.0, -20.0, 30.0])
    assert geometry["direction"] == pytest.approx([1, 0, 0, 0, 1, 0, 0, 0, 1])
    # the RAS affine nibabel would write: LPS x and y flipped
    assert np.allclose(geometry["affine"], [[-0.5, 0, 0, -10], [0, -0.7, 0, 20],
                                            [0, 0, 2.5, 30], [0, 0, 0, 1]])


def test_a_series_with_a_missing_slice_or_mixed_sizes_is_refused(tmp_path):
    volume = np.zeros((4, 4, 4), "int16")
    write_series(tmp_path / "gap", volume)
    (tmp_path / "gap" / "f001.dcm").unlink()
    with pytest.raises(Exception, match="slice gaps range from 2 to 4 mm"):
        read_dicom_series(tmp_path / "gap")
    write_series(tmp_path / "mixed", volume)
    write_dicom(tmp_path / "mixed" / "f001.dcm", np.zeros((3, 3), "int16"))
    with pytest.raises(Exception, match="slice f001.dcm is 3x3 but f000.dcm is 4x4"):
        read_dicom_series(tmp_path / "mixed")


def save_mha(path, array, spacing, origin):
    image = sitk.GetImageFromArray(np.ascontiguousarray(array.transpose(2, 1, 0)))
    image.SetSpacing(spacing)
    image.SetOrigin(origin)
    path.parent.mkdir(parents=True, exist_ok=True)
    sitk.WriteImage(image, str(path))


def test_mha_and_nifti_of_one_array_read_equal_in_the_volumes_source(tmp_path):
    rng = np.random.default_rng(0)
    volume = rng.normal(size=(6, 5, 4)).astype("float32")
    mask = (volume > 0).astype("uint8")
    (tmp_path / "images").mkdir()
    (tmp_path / "masks").mkdir()
    nib.save(nib.Nifti1Image(volume, np.diag([1.0, 1.0, 2.0, 1.0])), tmp_path / "images" / "a.nii")
    save_mha(tmp_path / "images" / "b.mha", volume, (1.0, 1.0, 2.0), (3.0, 4.0, 5.0))
    save_mha(tmp_path / "masks" / "a.mha", mask, (1.0, 1.0, 2.0), (0.0, 0.0, 0.0))  # formats mix
    nib.save(nib.Nifti1Image(mask, np.eye(4)), tmp_path / "masks" / "b.nii.gz")
    data = load_source(compose("train", ["data=nifti", f"data.path={tmp_path}",
                                         "data.val_fraction=0", "data.test_fraction=0"]).data)
    x, y = data.splits["train"]
    assert x.shape == (2, 6, 5, 4, 1) and np.array_equal(x[0], x[1])
    assert np.array_equal(y[0], y[1]) and np.array_equal(y[0, ..., 0], mask)
    infos = {info["path"].rsplit("/", 1)[-1]: info for info in data.meta["volumes"]["train"]}
    assert infos["b.mha"]["spacing"] == [1.0, 1.0, 2.0]
    assert infos["b.mha"]["geometry"]["origin"] == [3.0, 4.0, 5.0]


def test_nrrd_round_trip_keeps_voxels_and_geometry(tmp_path):
    volume = np.arange(2 * 3 * 4, dtype="int16").reshape(2, 3, 4)
    direction = [0.0, -1.0, 0.0, 1.0, 0.0, 0.0, 0.0, 0.0, 1.0]
    geometry = {"spacing": [0.5, 0.75, 3.0], "origin": [1.0, -2.0, 7.5], "direction": direction}
    write_itk_volume(volume[..., None], geometry, tmp_path / "v.nrrd")
    read, found = read_itk_volume(tmp_path / "v.nrrd")
    assert read.shape == (2, 3, 4, 1) and np.array_equal(read[..., 0], volume)
    assert found["format"] == ".nrrd" and found["direction"] == pytest.approx(direction)
    assert found["spacing"] == pytest.approx([0.5, 0.75, 3.0])
    assert found["origin"] == pytest.approx([1.0, -2.0, 7.5])


def test_corrupt_files_are_one_line_errors_naming_the_file(tmp_path):
    (tmp_path / "bad.dcm").write_bytes(b"\0" * 64)
    with pytest.raises(DataError, match=r"Cannot read image .*bad\.dcm: not a readable DICOM"):
        read_image(tmp_path / "bad.dcm", 1)
    (tmp_path / "images").mkdir()
    (tmp_path / "masks").mkdir()
    (tmp_path / "images" / "v.mha").write_bytes(b"ObjectType = Image\nNDims = 3\n")
    (tmp_path / "masks" / "v.mha").write_bytes(b"")
    with pytest.raises(DataError, match=r"Cannot read image .*images/v\.mha: ") as caught:
        load_source(compose("train", ["data=nifti", f"data.path={tmp_path}",
                                      "data.val_fraction=0", "data.test_fraction=0"]).data)
    assert "\n" not in str(caught.value)


def test_dicom_images_in_class_folders_are_16_bit_images_of_the_folder_source(tmp_path):
    for label, value in (("a", 0), ("b", 1000)):
        for i in range(3):
            write_dicom(tmp_path / label / f"{i}.dcm", np.full((4, 6), value, "int16"))
    # a file without a suffix that starts like DICOM counts as one
    write_dicom(tmp_path / "b" / "IM0003", np.full((4, 6), 1000, "int16"))
    data = load_source(compose("train", [
        "data=folder", f"data.path={tmp_path}", "data.val_fraction=0", "data.test_fraction=0",
        "data.window=[500,1000]"]).data)
    split = data.splits["train"]
    x, y = split.arrays()
    assert len(split) == 7 and data.value_max == 65535.0 and x.dtype == np.uint16
    assert x.shape == (7, 4, 6, 1)
    assert sorted({int(v) for v in x[y == 0].ravel()}) == [0]
    assert sorted({int(v) for v in x[y == 1].ravel()}) == [65535]


def test_a_window_that_is_not_center_and_width_is_refused(tmp_path):
    with pytest.raises(ConfigError, match=r"`data.window` must be \[center, width\]"):
        load_source(compose("train", ["data=folder", f"data.path={tmp_path}",
                                      "data.window=[40,0]"]).data)


def test_a_dicom_series_folder_in_images_is_one_volume_of_the_volumes_source(tmp_path):
    volume = np.arange(4 * 3 * 5, dtype="int16").reshape(4, 3, 5)
    for name in ("p1", "p2"):
        write_series(tmp_path / "images" / name, volume, spacing=(0.5, 0.7, 2.5))
        (tmp_path / "masks").mkdir(exist_ok=True)
        nib.save(nib.Nifti1Image((volume > 30).astype("uint8"), np.eye(4)),
                 tmp_path / "masks" / f"{name}.nii.gz")
    data = load_source(compose("train", ["data=nifti", f"data.path={tmp_path}",
                                         "data.val_fraction=0", "data.test_fraction=0"]).data)
    x, y = data.splits["train"]
    assert x.shape == (2, 4, 3, 5, 1) and np.array_equal(x[0, ..., 0], volume)
    assert np.array_equal(y[1, ..., 0], volume > 30)
    assert data.meta["volumes"]["train"][0]["spacing"] == pytest.approx([0.5, 0.7, 2.5])
