"""The nifti source: 3D/4D volumes with masks or CSV labels, fitted to one shape, geometry kept."""

from __future__ import annotations

from pathlib import Path

import nibabel as nib
import numpy as np
import pytest

from cnnkit.config.compose import compose
from cnnkit.data.sources import load_source
from cnnkit.errors import ConfigError, DataError


def load(path: Path, *overrides: str):
    return load_source(compose("train", ["data=nifti", f"data.path={path}", *overrides]).data)


def save(path: Path, array: np.ndarray, spacing=(2.0, 1.0, 1.0)) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    nib.save(nib.Nifti1Image(array, np.diag([*spacing, 1.0])), path)


def cube_volumes(root: Path, n: int = 3, shape=(8, 10, 12)) -> None:
    for i in range(n):
        mask = np.zeros(shape, np.uint8)
        mask[2:6, 3:7, 4:8] = 1
        save(root / "images" / f"v{i}.nii.gz", (mask * 100.0 + i).astype("float32"))
        save(root / "masks" / f"v{i}.nii.gz", mask * 255)


def test_masks_become_label_volumes_and_geometry_is_kept(tmp_path):
    cube_volumes(tmp_path)
    data = load(tmp_path, "data.val_fraction=0", "data.test_fraction=0")
    x, y = data.splits["train"]
    assert x.shape == (3, 8, 10, 12, 1) and y.shape == (3, 8, 10, 12, 1)
    assert set(np.unique(y).tolist()) == {0, 1} and data.class_names == ["0", "1"]
    assert np.array_equal(y[..., 0] == 1, x[..., 0] >= 100)
    volume = data.meta["volumes"]["train"][0]
    assert volume["spacing"] == [2.0, 1.0, 1.0] and volume["shape"] == [8, 10, 12]
    assert np.allclose(volume["affine"], np.diag([2.0, 1.0, 1.0, 1.0]))


def test_resize_and_crop_bring_volumes_to_one_shape(tmp_path):
    cube_volumes(tmp_path)
    resized = load(tmp_path, "data.shape=[4,5,6]", "data.val_fraction=0", "data.test_fraction=0")
    x, y = resized.splits["train"]
    assert x.shape == (3, 4, 5, 6, 1) and set(np.unique(y).tolist()) == {0, 1}
    cropped = load(tmp_path, "data.shape=[4,12,12]", "data.fit=crop", "data.val_fraction=0",
                   "data.test_fraction=0")
    x, y = cropped.splits["train"]
    assert x.shape == (3, 4, 12, 12, 1) and y[0].sum() == 4 * 4 * 4  # whole cube kept
    assert (x[:, :, 0] == 0).all()  # zero padding on the axis that grew


def test_labels_from_csv_and_4d_channels(tmp_path):
    for i in range(4):
        save(tmp_path / "images" / f"s{i}.nii", np.full((4, 4, 4, 2), i, "float32"))
    (tmp_path / "labels.csv").write_text(
        "path,label\n" + "\n".join(f"s{i}.nii,{'ad' if i % 2 else 'cn'}" for i in range(4)))
    data = load(tmp_path, "data.labels=labels.csv", "data.val_fraction=0", "data.test_fraction=0")
    x, y = data.splits["train"]
    assert x.shape == (4, 4, 4, 4, 2) and data.class_names == ["ad", "cn"]
    assert [int(v) for v in y] == [1, 0, 1, 0]


def test_bad_volumes_and_mismatches_are_named(tmp_path):
    cube_volumes(tmp_path, n=4)
    save(tmp_path / "masks" / "v1.nii.gz", np.zeros((8, 10, 11), np.uint8))
    with pytest.raises(DataError, match=r"v1\.nii\.gz is \[8, 10, 12\] but its mask .*\[8, 10, 11\]"):
        load(tmp_path)
    cube_volumes(tmp_path, n=4)
    (tmp_path / "images" / "v2.nii.gz").write_bytes(b"not a volume")
    with pytest.raises(DataError, match=r"Cannot read image .*v2\.nii\.gz"):
        load(tmp_path)
    data = load(tmp_path, "data.on_bad_file=skip", "data.val_fraction=0", "data.test_fraction=0")
    assert len(data.splits["train"][1]) == 3 and data.meta["skipped"] == 1
    with pytest.raises(ConfigError, match=r"`data\.shape` must be 3 positive numbers"):
        load(tmp_path, "data.shape=[4,4]")


def test_the_shapes_volumes_hold_and_their_fit_are_recorded(tmp_path):
    cube_volumes(tmp_path)
    resized = load(tmp_path, "data.shape=[4,5,6]", "data.val_fraction=0", "data.test_fraction=0")
    assert resized.meta["stored"] == {"noun": "volumes", "min": [8, 10, 12], "max": [8, 10, 12],
                                      "fit": "resize", "key": "data.shape"}
    cropped = load(tmp_path, "data.shape=[4,12,12]", "data.fit=crop", "data.val_fraction=0",
                   "data.test_fraction=0")
    assert cropped.meta["stored"]["fit"] == "crop"
