"""The folder source: class sub-folders and images/ + masks/, formats, bad files, clear errors."""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from cnnkit.config.compose import compose
from cnnkit.data.sources import load_source
from cnnkit.errors import ConfigError, DataError


def load(path: Path, *overrides: str):
    return load_source(compose("train", ["data=folder", f"data.path={path}", *overrides]).data)


def arrays(data, split: str = "train") -> tuple[np.ndarray, np.ndarray]:
    """A split of files decoded (the sources list files; the pipeline decodes as it reads)."""
    return data.splits[split].arrays()


def save(path: Path, array: np.ndarray) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(array).save(path)  # uint16 arrays are written as 16-bit files
    return path


def class_tree(root: Path, per_class: int = 4, size: int = 8) -> Path:
    rng = np.random.default_rng(0)
    for name in ("cat", "dog"):
        for i in range(per_class):
            save(root / name / f"{i}.png", rng.integers(0, 255, (size, size), dtype=np.uint8))
    return root


def test_class_folders_give_labels_in_sorted_order_and_8bit_value_range(tmp_path):
    data = load(class_tree(tmp_path), "data.val_fraction=0", "data.test_fraction=0")
    x, y = arrays(data)
    assert data.class_names == ["cat", "dog"]
    assert x.shape == (8, 8, 8, 1) and x.dtype == np.uint8 and data.value_max == 255
    assert sorted(y.tolist()) == [0] * 4 + [1] * 4


def test_every_format_and_mode_reads_and_widest_channels_win(tmp_path):
    gray = np.full((6, 6), 200, np.uint8)
    rgb = np.zeros((6, 6, 3), np.uint8)
    rgb[..., 0] = 255
    save(tmp_path / "a" / "gray.png", gray)
    save(tmp_path / "a" / "gray.bmp", gray)
    save(tmp_path / "b" / "rgb.jpg", rgb)
    save(tmp_path / "b" / "rgb.tiff", rgb)
    save(tmp_path / "b" / "rgba.png", np.dstack([rgb, np.full((6, 6), 128, np.uint8)]))
    data = load(tmp_path, "data.val_fraction=0", "data.test_fraction=0")
    x, y = arrays(data)
    assert x.shape == (5, 6, 6, 4)  # RGBA present: every image gets 4 channels
    assert (x[y == 0][..., :3] == 200).all() and (x[y == 0][..., 3] == 255).all()
    rgb_only = load(tmp_path, "data.channels=3", "data.val_fraction=0", "data.test_fraction=0")
    assert arrays(rgb_only)[0].shape == (5, 6, 6, 3)


def test_16bit_images_keep_their_range(tmp_path):
    for name in ("a", "b"):
        for i in range(2):
            save(tmp_path / name / f"{i}.png", np.full((4, 4), 40000 + i, np.uint16))
    data = load(tmp_path, "data.val_fraction=0", "data.test_fraction=0")
    x = arrays(data)[0]
    assert data.value_max == 65535 and x.dtype == np.uint16 and x.max() == 40001


def test_corrupt_file_is_named_by_default_and_skipped_and_counted_on_request(tmp_path, caplog):
    root = class_tree(tmp_path, per_class=6)
    broken = root / "dog" / "broken.png"
    broken.write_bytes((root / "dog" / "0.png").read_bytes()[:40])  # no complete header
    with pytest.raises(DataError, match=r"broken\.png.*data\.on_bad_file=skip"):
        load(root)  # named at listing (headers are read then)
    broken.unlink()
    cut = root / "dog" / "cut.png"
    cut.write_bytes((root / "dog" / "0.png").read_bytes()[:-30])  # a header, pixels cut short
    data = load(root)
    with pytest.raises(DataError, match=r"cut\.png.*data\.on_bad_file=skip"):
        [arrays(data, name) for name in data.splits]  # named when first decoded
    broken.write_bytes((root / "dog" / "0.png").read_bytes()[:40])
    with caplog.at_level(logging.WARNING, logger="cnnkit.data"):
        data = load(root, "data.on_bad_file=skip")
        read = sum(len(arrays(data, name)[1]) for name in data.splits)
    assert read == 12 and data.meta["skipped"] == 1
    assert "Skipped 1 unreadable" in caplog.text and "broken.png" in caplog.text
    assert "cut.png" in caplog.text
    with pytest.raises(ConfigError, match="on_bad_file"):
        load(root, "data.on_bad_file=ignore")


def test_empty_class_folder_and_unlisted_folder_are_named(tmp_path):
    root = class_tree(tmp_path)
    (root / "bird").mkdir()
    with pytest.raises(DataError, match=r"Class folder .*bird holds no images"):
        load(root)
    with pytest.raises(DataError, match=r"bird is not one of the classes in `data.classes`"):
        load(root, "data.classes=[cat,dog]")


def test_sizes_must_agree_unless_image_size_resizes(tmp_path):
    root = class_tree(tmp_path)
    save(root / "dog" / "big.png", np.zeros((12, 10), np.uint8))
    with pytest.raises(DataError, match=r"big\.png is 12x10.*data\.image_size"):
        load(root)
    data = load(root, "data.image_size=16")
    assert data.splits["train"].raw_shape == [16, 16, 1]
    assert arrays(data)[0].shape[1:] == (16, 16, 1)


def test_train_val_test_folders_are_used_as_given(tmp_path):
    class_tree(tmp_path / "train", per_class=5)
    class_tree(tmp_path / "val", per_class=2)
    data = load(tmp_path, "data.test_fraction=0")
    assert {k: len(v) for k, v in data.splits.items()} == {"train": 10, "val": 4}


def test_unknown_key_is_named(tmp_path):
    with pytest.raises(ConfigError, match=r"`data\.pth`"):
        load(tmp_path, "+data.pth=x")


def segmentation_tree(root: Path, n: int = 4, foreground: int = 255) -> Path:
    for i in range(n):
        image = np.zeros((8, 8), np.uint8)
        image[2:6, 2:6] = 200
        save(root / "images" / f"s{i}.png", image)
        save(root / "masks" / f"s{i}.png", np.where(image > 0, foreground, 0).astype(np.uint8))
    return root


def test_segmentation_pairs_by_stem_and_reads_0_255_masks_as_0_1(tmp_path):
    data = load(segmentation_tree(tmp_path), "data.val_fraction=0", "data.test_fraction=0")
    x, y = arrays(data)
    assert x.shape == (4, 8, 8, 1) and y.shape == (4, 8, 8, 1)
    assert set(np.unique(y).tolist()) == {0, 1}
    assert np.array_equal(y[..., 0] == 1, x[..., 0] == 200)
    assert data.class_names == ["0", "1"] and data.meta["layout"] == "segmentation"


def test_segmentation_mismatch_missing_mask_and_out_of_range_values_are_named(tmp_path):
    root = segmentation_tree(tmp_path, foreground=1)
    save(root / "masks" / "s1.png", np.zeros((6, 8), np.uint8))
    with pytest.raises(DataError, match=r"s1\.png is 8x8 but its mask .*s1\.png is 6x8"):
        load(root)
    save(root / "masks" / "s1.png", np.full((8, 8), 3, np.uint8))
    with pytest.raises(DataError, match=r"Mask .*s1\.png holds value 3, outside the 2 classes"):
        load(root, "data.classes=[background,cell]", "data.val_fraction=0", "data.test_fraction=0")
    save(root / "images" / "extra.png", np.zeros((8, 8), np.uint8))
    with pytest.raises(DataError, match=r"extra\.png has no mask"):
        load(root)


def isbi_tree(root: Path, n: int = 30) -> Path:
    """ISBI's layout: image/NN.png and label/NN.png."""
    for i in range(n):
        save(root / "image" / f"{i}.png", np.full((8, 8), i, np.uint8))
        save(root / "label" / f"{i}.png", np.zeros((8, 8), np.uint8))
    return root


def test_test_files_are_exactly_the_test_split_and_never_trained_on(tmp_path):
    data = load(isbi_tree(tmp_path), "data.images_dir=image", "data.masks_dir=label",
                "data.test_files=['25','26']", "data.val_fraction=0.2")
    stems = {name: {Path(f).stem for f in files} for name, files in data.meta["files"].items()}
    assert stems["test"] == {"25", "26"}  # test_fraction carves nothing more
    assert not {"25", "26"} & (stems["train"] | stems["val"])
    assert len(stems["val"]) == 6 and len(stems["train"]) == 22


def test_held_out_files_by_glob_on_the_relative_path_and_their_errors(tmp_path):
    root = isbi_tree(tmp_path, n=12)
    data = load(root, "data.images_dir=image", "data.masks_dir=label",
                "data.val_files=['image/1?.png']", "data.test_files=['3']")
    assert sorted(Path(f).stem for f in data.meta["files"]["val"]) == ["10", "11"]
    with pytest.raises(DataError, match=r"`data\.test_files` entry '99' matches no training"):
        load(root, "data.images_dir=image", "data.masks_dir=label", "data.test_files=['99']")
    with pytest.raises(ConfigError, match=r"3\.png is picked by both `data\.test_files`"):
        load(root, "data.images_dir=image", "data.masks_dir=label", "data.test_files=['3']",
             "data.val_files=['[3]']")
