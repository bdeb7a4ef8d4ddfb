"""Must-show 3 of issue 13: a folder of DICOM files and a folder of .mha volume/mask pairs
(written here with pydicom and SimpleITK) train and predict; the .mha prediction keeps the
input's spacing and origin. The volumes train on 8^3 patches, so every prediction is a sliding
window (must-show 2: a NIfTI larger than the patch comes back with the input's affine). In
process (cnnkit.cli.main), one tiny run per data set."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pytest

from cnnkit.cli import main
from tests.medical_files import write_dicom

pytestmark = pytest.mark.slow

SPACING, ORIGIN = (0.8, 0.9, 2.5), (-12.0, 7.5, 40.0)
TINY = ["trainer.epochs=1", "data.batch_size=4", "data.val_fraction=0.25",
        "data.test_fraction=0"]


@pytest.fixture(scope="module")
def dicom_run(tmp_path_factory) -> Path:
    """2 classes x 6 CT-like 16x16 DICOM images (dark and bright discs), trained and predicted."""
    root = tmp_path_factory.mktemp("dicom")
    yy, xx = np.mgrid[:16, :16]
    disc = (yy - 8) ** 2 + (xx - 8) ** 2 <= 25
    for label, hu in (("air", -800), ("bone", 700)):
        for i in range(6):
            write_dicom(root / "data" / label / f"{i}.dcm", disc * (hu + 10 * i),
                        RescaleSlope=1, RescaleIntercept=0, WindowCenter=0, WindowWidth=2000)
    run = root / "run"
    main(["train", "data=folder", f"data.path={root / 'data'}", "model=default", *TINY,
          f"hydra.run.dir={run}"])  # the small CNN: the plan's ResNet is not what is tested
    main(["predict", f"run={run}", f"input={root / 'data'}", f"output={root / 'pred.csv'}"])
    return root


def test_a_folder_of_dicom_images_trains_and_predicts(dicom_run):
    assert (dicom_run / "run" / "model.keras").is_file()
    with (dicom_run / "pred.csv").open(newline="") as handle:
        rows = list(csv.reader(handle))
    assert len(rows) == 13 and rows[1][0].endswith(".dcm")  # a header and one row per file


def save_mha(path: Path, array: np.ndarray) -> None:
    import SimpleITK as sitk

    image = sitk.GetImageFromArray(np.ascontiguousarray(array.transpose(2, 1, 0)))
    image.SetSpacing(SPACING)
    image.SetOrigin(ORIGIN)
    path.parent.mkdir(parents=True, exist_ok=True)
    sitk.WriteImage(image, str(path))


@pytest.fixture(scope="module")
def mha_run(tmp_path_factory) -> Path:
    """4 .mha volumes 16^3 with a cube mask each, a 3D U-Net trained 1 epoch on 8^3 patches,
    predicted window by window: the .mha volumes and a larger NIfTI with an oblique affine."""
    import nibabel as nib

    root = tmp_path_factory.mktemp("mha")
    rng = np.random.default_rng(0)
    for i in range(4):
        mask = np.zeros((16, 16, 16), "uint8")
        start = 2 + i
        mask[start:start + 8, 4:12, 3:11] = 1
        save_mha(root / "data" / "images" / f"case{i}.mha",
                 (mask * 100 + rng.normal(0, 5, mask.shape)).astype("float32"))
        save_mha(root / "data" / "masks" / f"case{i}.mha", mask)
    run = root / "run"
    main(["train", "data=nifti", f"data.path={root / 'data'}", "task=segmentation",
          "model=unet3d", "model.base_filters=4", "data.patch_size=[8,8,8]",
          "data.patches_per_image=2", *TINY, f"hydra.run.dir={run}"])
    main(["predict", f"run={run}", f"input={root / 'data' / 'images'}",
          f"output={root / 'pred'}"])
    volume = np.zeros((24, 20, 16), "float32")
    volume[4:16, 6:14, 3:11] = 100
    nib.save(nib.Nifti1Image(volume, OBLIQUE), root / "large.nii.gz")
    main(["predict", f"run={run}", f"input={root / 'large.nii.gz'}", f"output={root / 'large'}"])
    return root


#: voxel -> world with a rotation about z, anisotropic voxels and an offset
OBLIQUE = np.array([[0.0, -0.7, 0.0, 30.0], [0.9, 0.0, 0.0, -12.0], [0.0, 0.0, 2.0, 5.0],
                    [0.0, 0.0, 0.0, 1.0]])


def test_a_volume_larger_than_the_patch_is_predicted_whole_with_the_input_affine(mha_run):
    import json

    import nibabel as nib

    assert json.loads((mha_run / "run" / "preprocessing.json").read_text())["patch_shape"] == [8, 8, 8]
    written = nib.load(mha_run / "large" / "large.nii.gz")
    assert written.shape[:3] == (24, 20, 16)
    np.testing.assert_allclose(written.affine, OBLIQUE)


def test_mha_volumes_train_and_the_mha_prediction_keeps_spacing_and_origin(mha_run):
    import SimpleITK as sitk

    written = sorted(p.name for p in (mha_run / "pred").iterdir())
    assert written == [*(f"case{i}.mha" for i in range(4)), "summary.csv"]
    image = sitk.ReadImage(str(mha_run / "pred" / "case0.mha"))
    assert image.GetSize() == (16, 16, 16)
    assert image.GetSpacing() == pytest.approx(SPACING)
    assert image.GetOrigin() == pytest.approx(ORIGIN)
    assert set(np.unique(sitk.GetArrayFromImage(image)).tolist()) <= {0, 1}
