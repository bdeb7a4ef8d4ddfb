"""A bare `cnnkit train` on a folder of images trains with the plan and saves plan.yaml."""

from __future__ import annotations

import numpy as np
import pytest
import yaml
from PIL import Image


@pytest.mark.slow  # one training subprocess: ResNet-18 (small stem), one epoch on 16x16 images
def test_a_bare_train_on_a_folder_follows_the_plan(cli, tmp_path):
    rng = np.random.default_rng(0)
    for name in ("a", "b"):
        (tmp_path / "d" / name).mkdir(parents=True)
        for i in range(10):
            Image.fromarray(rng.integers(0, 255, (16, 16), dtype=np.uint8)).save(
                tmp_path / "d" / name / f"{i}.png")
    result = cli("train", "data=folder", f"data.path={tmp_path / 'd'}", "trainer.epochs=1",
                 "hydra.run.dir=run")
    assert "plan: folder (classification)" in result.stdout
    saved = yaml.safe_load((tmp_path / "run" / "plan.yaml").read_text())
    chosen = {c["key"]: c["value"] for c in saved["choices"]}
    assert chosen["model"] == "resnet18" and chosen["trainer.epochs"] == 1
    config = yaml.safe_load((tmp_path / "run" / "config.yaml").read_text())
    assert config["model"]["name"] == "resnet18" and config["optimizer"]["name"] == "adamw"
    assert (tmp_path / "run" / "model.keras").is_file()
