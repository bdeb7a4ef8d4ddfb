"""`cnnkit data` / `cnnkit inspect`: statistics on stdout and a PNG grid of augmented samples."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.slow

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
SMALL = ["data=shapes", "data.num_train=60", "data.num_val=15", "data.num_test=15"]


def test_data_prints_counts_and_writes_the_sample_grid(cli, tmp_path) -> None:
    result = cli("data", *SMALL, "augment=strong", "inspect.output=grid.png",
                 "inspect.num_samples=6")
    out = result.stdout
    assert "train" in out and "60" in out and "circle:" in out and "triangle:" in out
    assert "Model input: [32, 32, 1]" in out and "standardised with training mean" in out
    assert "Augmentation (pipeline): flip (p=0.5), rotate90" in out
    assert (tmp_path / "grid.png").read_bytes()[:8] == PNG_MAGIC


def test_inspect_alias_overlays_segmentation_masks(cli, tmp_path) -> None:
    result = cli("inspect", "conf=shapes_segmentation", *SMALL[1:], "augment=light",
                 "inspect.num_samples=4")
    assert "(targets: mask)" in result.stdout and "%" in result.stdout
    assert (tmp_path / "outputs/data/shapes_segmentation/samples.png").read_bytes()[:8] == PNG_MAGIC

