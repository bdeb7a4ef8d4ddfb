"""Must-show 3 of issue 13: a folder of DICOM files and a folder of .mha volume/mask pairs
(written here with pydicom and SimpleITK) train and predict; the .mha prediction keeps the
input's spacing and origin. In process (cnnkit.cli.main), one tiny run per data set."""

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
    main(["train", "data=folder", f"data.path={root / 'data'}", *TINY, f"hydra.run.dir={run}"])
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
    """4 .mha volumes 16^3 with a cube mask each, a 3D U-Net trained 1 epoch, predicted."""
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
          "model=unet3d", "model.base_filters=4", *TINY, f"hydra.run.dir={run}"])
    main(["predict", f"run={run}", f"input={root / 'data' / 'images'}",
          f"output={root / 'pred'}"])
    return root


def test_mha_volumes_train_and_the_mha_prediction_keeps_spacing_and_origin(mha_run):
    import SimpleITK as sitk

    written = sorted(p.name for p in (mha_run / "pred").iterdir())
    assert written == [f"case{i}.mha" for i in range(4)]
    image = sitk.ReadImage(str(mha_run / "pred" / "case0.mha"))
    assert image.GetSize() == (16, 16, 16)
    assert image.GetSpacing() == pytest.approx(SPACING)
    assert image.GetOrigin() == pytest.approx(ORIGIN)
    assert set(np.unique(sitk.GetArrayFromImage(image)).tolist()) <= {0, 1}
