"""End to end through the console script: counting, multi-task, autoencoder, 3D and 1D experiments.

Each shipped experiment is shrunk to a few samples and one epoch; what is checked is what a user
reads afterwards: the metrics in eval/<split>.json and the files predict writes.
"""

import csv
import json
from pathlib import Path

import numpy as np
import pytest

pytestmark = pytest.mark.slow

TINY = ["trainer.epochs=1", "data.num_train=16", "data.num_val=4", "data.num_test=4",
        "data.batch_size=8"]


def train(cli, tmp_path: Path, experiment: str, *overrides: str) -> Path:
    run = tmp_path / experiment
    cli("train", f"conf={experiment}", *TINY, *overrides, f"hydra.run.dir={run}")
    return run


def evaluate(cli, run: Path) -> dict:
    cli("evaluate", f"run={run}", "data.split=test")
    return json.loads((run / "eval" / "test.json").read_text())


def write_pngs(folder: Path, sizes: list[int]) -> list[str]:
    from PIL import Image

    from cnnkit.data.sources.synthetic import generate_scenes

    folder.mkdir()
    names = []
    for i, size in enumerate(sizes):
        image = generate_scenes(1, size, ["circle"], 2, 2, 0.05, 1.5, seed=i)["inputs"][0, ..., 0]
        names.append(f"scene{i}.png")
        Image.fromarray((image * 255).astype("uint8")).save(folder / names[-1])
    return names


@pytest.mark.parametrize(("experiment", "metric"), [("shapes_counting", "mae"),
                                                    ("signals_classification", "accuracy")])
def test_experiment_trains_and_evaluates(cli, tmp_path, experiment, metric):
    report = evaluate(cli, train(cli, tmp_path, experiment))
    assert report[metric] >= 0 and report["num_samples"] == 4


def test_multitask_reports_and_writes_each_head(cli, tmp_path):
    run = train(cli, tmp_path, "shapes_multitask")
    report = evaluate(cli, run)
    assert 0 <= report["class/accuracy"] <= 1 and 0 <= report["mask/dice"] <= 1
    assert report["heads"] == ["class", "mask"] and report["loss"] > 0
    names = write_pngs(tmp_path / "inputs", [32, 32])
    cli("predict", f"run={run}", f"input={tmp_path / 'inputs'}", f"output={tmp_path / 'preds.csv'}")
    with open(tmp_path / "preds_class.csv", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert [r["id"] for r in rows] == names
    assert {r["prediction"] for r in rows} <= {"circle", "square", "triangle"}
    written = sorted(p.name for p in (tmp_path / "preds_mask").iterdir())  # a folder, no suffix
    assert written == [*names, "summary.csv"]  # a mask per input and the per-mask summary


def test_autoencoder_reconstructs_and_exports_embeddings(cli, tmp_path):
    from PIL import Image

    run = train(cli, tmp_path, "shapes_autoencoder")
    report = evaluate(cli, run)
    assert report["psnr"] > 0 and report["embedding_size"] == 8 * 8 * 4
    names = write_pngs(tmp_path / "inputs", [32, 48])
    out = tmp_path / "recon"
    cli("predict", f"run={run}", f"input={tmp_path / 'inputs'}", f"output={out}")
    assert Image.open(out / "scene1.png").size == (48, 48)  # each input at its own size
    codes = np.load(out / "embeddings.npy")
    assert codes.shape == (2, 8 * 8 * 4)
    with open(out / "embeddings.csv", newline="") as handle:
        rows = list(csv.reader(handle))
    assert [r[0] for r in rows[1:]] == names and len(rows[1]) == 1 + codes.shape[1]


def test_volume_segmentation_writes_nifti_with_the_input_affine(cli, tmp_path):
    import nibabel as nib

    from cnnkit.data.sources.synthetic import generate_volumes, volume_affine

    run = train(cli, tmp_path, "volumes_segmentation", "data.spacing=[2.0,2.0,3.0]")
    metrics = json.loads((run / "metrics.json").read_text())
    assert 0 <= metrics["val_dice"] <= 1  # segmentation's evaluate is covered by test_tasks_e2e
    volume = generate_volumes(1, 16, ["sphere"], 0.05, seed=7)["inputs"][0, ..., 0]
    affine = volume_affine([2.0, 2.0, 3.0], 16)
    nib.save(nib.Nifti1Image(volume, affine), tmp_path / "case.nii.gz")
    cli("predict", f"run={run}", f"input={tmp_path / 'case.nii.gz'}", f"output={tmp_path / 'masks'}")
    mask = nib.load(tmp_path / "masks" / "case.nii.gz")
    assert np.allclose(mask.affine, affine) and mask.shape == (16, 16, 16)
    assert set(np.unique(np.asarray(mask.dataobj))) <= {0, 1}
