"""A model trained on resized files predicts at its training scale: a 128x128 image read at
`data.image_size=32` is predicted at 32 and its output scaled back up, and train says so;
`cnnkit predict` of that run writes masks named after their inputs, with a summary."""

from __future__ import annotations

import io
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image
from rich.console import Console

from cnnkit.commands import predict
from cnnkit.commands.validation import validated
from cnnkit.config.compose import compose
from cnnkit.errors import ConfigError
from cnnkit.io.readers import load_image_inputs
from cnnkit.io.rundir import RunDir
from cnnkit.tasks import get_task
from cnnkit.tasks.dense import resize_output
from cnnkit.training.engine import train


def discs(root: Path, n: int = 6, size: int = 128) -> Path:
    """Gray images with bright discs and their 0/255 masks."""
    rng = np.random.default_rng(0)
    rows, cols = np.mgrid[:size, :size]
    for i in range(n):
        mask = np.zeros((size, size), bool)
        for _ in range(3):
            r, c = rng.integers(20, size - 20, 2)
            mask |= (rows - r) ** 2 + (cols - c) ** 2 < rng.integers(8, 20) ** 2
        for folder, array in (("images", np.where(mask, 200, 40)), ("masks", mask * 255)):
            (root / folder).mkdir(parents=True, exist_ok=True)
            Image.fromarray(array.astype(np.uint8)).save(root / folder / f"{i}.png")
    return root


@pytest.fixture(scope="module")
def trained(tmp_path_factory) -> tuple[Path, Path, Any, str]:
    """A tiny U-Net trained one epoch on 128x128 images read at 32x32: (data, run, config,
    what train printed)."""
    tmp_path = tmp_path_factory.mktemp("resized")
    data = discs(tmp_path / "data")
    cfg = validated(compose("train", [
        "data=folder", f"data.path={data}", "data.image_size=32", "data.val_fraction=0",
        "data.test_fraction=0", "task=segmentation", "model=unet", "model.input_shape=null",
        "model.base_filters=2", "model.dropout=0", "trainer.epochs=1", "trainer.verbose=0",
        "augment=none", "data.batch_size=6"]))
    printed = io.StringIO()
    train(cfg, tmp_path / "run", Console(file=printed, width=200))
    return data, tmp_path / "run", cfg, printed.getvalue()


def test_a_model_trained_on_resized_images_predicts_at_that_scale(trained, tmp_path):
    data, run_path, cfg, printed = trained
    assert "data: images 128×128 → model input 32×32 (data.image_size)" in printed
    run = RunDir.open(run_path)
    prep, model, task = run.load_preprocessing(), run.load_model(), get_task(cfg.task, cfg)
    assert prep.resized
    (tmp_path / "small").mkdir()
    Image.open(data / "images" / "0.png").resize((32, 32), Image.BILINEAR).save(
        tmp_path / "small" / "0.png")
    big = load_image_inputs(data / "images" / "0.png", prep)[0]
    small = load_image_inputs(tmp_path / "small" / "0.png", prep)[0]
    predicted = task.predict_samples(model, big, prep)[0]
    assert predicted.shape == (128, 128, 1)
    scaled_up = resize_output(task.predict_samples(model, small, prep)[0], (128, 128), False)
    native = task.predict_samples(model, big, replace(prep, resized=False))[0]
    off = np.abs(predicted - scaled_up).mean()
    # the same up to interpolation; run at its own size (the old way) the model sees other scales
    assert off < 1e-3 and off < np.abs(native - scaled_up).mean() / 10


def test_predict_keeps_sub_folders_and_writes_a_summary_beside_the_masks(trained, tmp_path):
    data, run_path, _, _ = trained
    nested = tmp_path / "in" / "a" / "b"
    nested.mkdir(parents=True)
    Image.open(data / "images" / "1.png").crop((0, 0, 96, 64)).save(nested / "x.png")
    with pytest.raises(ConfigError, match=r"`output=.*masks\.csv`.*e\.g\. output=.*masks$"):
        predict.run([f"run={run_path}", f"input={tmp_path / 'in'}",
                     f"output={tmp_path / 'masks.csv'}"])
    predict.run([f"run={run_path}", f"input={tmp_path / 'in'}", f"output={tmp_path / 'out'}"])
    mask = Image.open(tmp_path / "out" / "a" / "b" / "x.png")
    assert mask.mode == "L" and mask.size == (96, 64) and set(np.unique(mask)) <= {0, 255}
    rows = (tmp_path / "out" / "summary.csv").read_text().splitlines()
    assert rows[0].startswith("id,height,width,pixels_background,pixels_foreground")
    assert rows[1].startswith("a/b/x.png,64,96,") and len(rows) == 2
