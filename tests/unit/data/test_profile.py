"""The data profile: sizes, channels, counts and foreground from headers and a few masks."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from omegaconf import OmegaConf
from PIL import Image

from cnnkit.data import profile as profiles
from cnnkit.data.profile import profile_data


def write_classes(root: Path, counts: dict[str, int], size=(20, 30), mode="L") -> Path:
    for name, count in counts.items():
        (root / name).mkdir(parents=True)
        for i in range(count):
            shape = size if mode == "L" else (*size, 3)
            Image.fromarray(np.zeros(shape, "uint8"), mode).save(root / name / f"{i}.png")
    return root


def test_a_class_folder_gives_sizes_channels_and_training_counts(tmp_path):
    root = write_classes(tmp_path / "d", {"a": 30, "b": 10}, mode="RGB")
    found = profile_data(OmegaConf.create({"source": "folder", "path": str(root)}))
    assert (found.size_median, found.channels, found.target) == ((20, 30), 3, "label")
    assert found.examples == 28  # 40 minus the carved 15% val and 15% test
    assert found.class_counts == (21, 7) and found.imbalance == 3.0
    assert found.aspect == 1.5


def test_only_a_sample_of_headers_is_read(tmp_path, monkeypatch):
    monkeypatch.setattr(profiles, "SAMPLE", 5)
    root = write_classes(tmp_path / "d", {"a": 20, "b": 20})
    found = profile_data(OmegaConf.create({"source": "folder", "path": str(root),
                                           "val_fraction": 0, "test_fraction": 0}))
    assert found.sampled == 5 and found.examples == 40


def test_masks_give_the_foreground_fraction(tmp_path):
    (tmp_path / "images").mkdir()
    (tmp_path / "masks").mkdir()
    for i in range(4):
        Image.fromarray(np.zeros((16, 16), "uint8")).save(tmp_path / "images" / f"{i}.png")
        mask = np.zeros((16, 16), "uint8")
        mask[:4] = 255  # a quarter of the pixels
        Image.fromarray(mask).save(tmp_path / "masks" / f"{i}.png")
    found = profile_data(OmegaConf.create({"source": "folder", "path": str(tmp_path),
                                           "val_fraction": 0, "test_fraction": 0}))
    assert found.target == "mask" and found.foreground == pytest.approx(0.25)


def test_volumes_give_shape_spacing_and_foreground(tmp_path):
    nib = pytest.importorskip("nibabel")
    for folder in ("images", "masks"):
        (tmp_path / folder).mkdir()
    for i in range(3):
        mask = np.zeros((8, 10, 12), "uint8")
        mask[:2] = 1
        affine = np.diag([2.0, 1.0, 0.5, 1.0])
        nib.save(nib.Nifti1Image(np.ones((8, 10, 12), "float32"), affine),
                 tmp_path / "images" / f"v{i}.nii.gz")
        nib.save(nib.Nifti1Image(mask, affine), tmp_path / "masks" / f"v{i}.nii.gz")
    found = profile_data(OmegaConf.create({"source": "nifti", "path": str(tmp_path),
                                           "val_fraction": 0, "test_fraction": 0}))
    assert (found.rank, found.size_median, found.spacing) == (3, (8, 10, 12), (2.0, 1.0, 0.5))
    assert found.foreground == pytest.approx(0.25)


def test_array_sources_are_profiled_from_their_arrays():
    found = profile_data(OmegaConf.create({"source": "digits", "image_size": 8, "seed": 0,
                                           "val_fraction": 0.15, "test_fraction": 0.15}))
    assert found.size_median == (8, 8) and len(found.class_counts) == 10
    assert 1200 < found.examples < 1300
