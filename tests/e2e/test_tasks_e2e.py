"""The task experiments end to end through the real console script: train one tiny epoch,
evaluate, predict — masks at a size the model never saw, de-normalised boxes, denoised images."""

from __future__ import annotations

import csv
import json

import numpy as np
import pytest
from PIL import Image

pytestmark = pytest.mark.slow

TINY = ["trainer.epochs=1", "data.num_train=64", "data.num_val=16", "data.num_test=16"]


def test_segmentation_evaluates_per_class_and_predicts_masks_of_any_size(cli, tmp_path):
    cli("train", "conf=shapes_segmentation", *TINY, "hydra.run.dir=seg")
    out = cli("evaluate", "run=seg").stdout
    report = json.loads((tmp_path / "seg/eval/test.json").read_text())
    for key in ("dice", "iou", "mean_iou", "pixel_accuracy", "dice/circle", "iou/triangle"):
        assert key in report
    assert 0.0 <= report["dice"] <= 1.0 and "Per class" in out
    image = np.zeros((48, 80), "uint8")  # trained on 32x32; not a multiple of 16 either
    image[10:30, 20:44] = 230
    Image.fromarray(image).save(tmp_path / "wide.png")
    cli("predict", "run=seg", "input=wide.png", "output=masks")
    mask = np.asarray(Image.open(tmp_path / "masks" / "wide.png"))
    assert mask.shape == (48, 80)
    assert set(np.unique(mask).tolist()) <= {0, 1, 2, 3}


def test_box_regression_reports_per_output_and_writes_boxes_in_image_units(cli, tmp_path):
    cli("train", "conf=shapes_regression", *TINY, "hydra.run.dir=box")
    cli("evaluate", "run=box")
    report = json.loads((tmp_path / "box/eval/test.json").read_text())
    assert {"mae", "rmse", "r2", "mae/x1", "rmse/y2", "r2/x2"} <= set(report)
    state = json.loads((tmp_path / "box/task.json").read_text())
    assert len(state["target_mean"]) == 4
    np.save(tmp_path / "x.npy", np.random.default_rng(0).random((3, 32, 32), "float32"))
    cli("predict", "run=box", "input=x.npy", "output=boxes.csv")
    rows = list(csv.reader((tmp_path / "boxes.csv").open()))
    assert rows[0] == ["id", "x1", "y1", "x2", "y2"] and len(rows) == 4
    values = np.array(rows[1:])[:, 1:].astype(float)
    assert np.all(np.abs(values) < 2)  # fractions of the image, not standardised units


def test_denoising_logs_psnr_and_writes_images(cli, tmp_path):
    cli("train", "conf=shapes_reconstruction", *TINY, "hydra.run.dir=den")
    metrics = json.loads((tmp_path / "den/metrics.json").read_text())
    assert {"psnr", "ssim", "val_psnr", "val_ssim"} <= set(metrics)
    Image.fromarray(np.full((40, 24), 128, "uint8")).save(tmp_path / "noisy.png")
    cli("predict", "run=den", "input=noisy.png", "output=clean", "task.output_format=npy")
    assert np.load(tmp_path / "clean" / "noisy.npy").shape == (40, 24, 1)
