"""The PNG grid of augmented samples: one panel per sample, whatever the target kind."""

from __future__ import annotations

import numpy as np
from PIL import Image

from cnnkit.io.plots import draw_samples


def test_a_grid_of_labelled_and_masked_samples_is_written_as_png(tmp_path):
    x = np.random.default_rng(0).random((5, 8, 8, 1)).astype("float32")
    targets = {"class": np.array([0, 1, 0, 1, 1]), "mask": (x > 0.5).astype("int32")}
    path = draw_samples(x, targets, {"class": "label", "mask": "mask"}, ["cat", "dog"],
                        tmp_path / "out" / "grid.png")
    with Image.open(path) as image:
        assert image.format == "PNG"
        assert image.size == (3 * 220, 2 * 220)  # 3 x 2 panels of 2.2 inches at 100 dpi
    assert [p.name for p in (tmp_path / "out").iterdir()] == ["grid.png"]  # no temporary left
